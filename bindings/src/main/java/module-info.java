/**
 * jextract bindings of the youki-ffm C ABI ({@code native/include/youki_ffm.h}). Hand-written, unlike the package it
 * exports: an implementation detail of {@code dev.youkiffm.core}, the only module it is exported to. Its classes make
 * the restricted downcalls, so it needs native access too ({@code --enable-native-access}).
 */
module dev.youkiffm.bindings {
    exports dev.youkiffm.bindings to dev.youkiffm.core;
}
