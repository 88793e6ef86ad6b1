/**
 * youki-ffm: OCI container lifecycles in-process through FFM over youki's libcontainer, or through the youki, runc
 * or crun CLI, behind {@link dev.youkiffm.ContainerRuntime}. Start at {@link dev.youkiffm.ContainerRuntimes}.
 *
 * <p>Native access: on the module path run with
 * {@code --enable-native-access=dev.youkiffm.core,dev.youkiffm.bindings} (both make restricted calls); on the class
 * path with {@code --enable-native-access=ALL-UNNAMED}.
 */
module dev.youkiffm.core {
    requires dev.youkiffm.bindings;
    // Jackson types appear in the API (CniResult.json(), NetworkConfigList.plugins()).
    requires transitive com.fasterxml.jackson.databind;
    // JFR events per operation and per helper restart (dev.youkiffm.internal.jfr).
    requires jdk.jfr;
    requires java.net.http;
    requires org.apache.commons.compress;
    // File-derived automatic name: aircompressor-v3 (3.3, and 3.14, the latest) declares no module name.
    requires aircompressor.v3;

    exports dev.youkiffm;
    exports dev.youkiffm.bundle;
    exports dev.youkiffm.ffm;
    exports dev.youkiffm.image;
    exports dev.youkiffm.network;
    exports dev.youkiffm.rootless;
    exports dev.youkiffm.spec;
    exports dev.youkiffm.subprocess;
    exports dev.youkiffm.supervise;

    // JFR reads the event classes' fields and annotations.
    exports dev.youkiffm.internal.jfr to jdk.jfr;

    // Jackson binds these reflectively (records, private @JsonCreator constructors, any-getters/setters).
    opens dev.youkiffm.spec to com.fasterxml.jackson.databind;
    opens dev.youkiffm.network to com.fasterxml.jackson.databind;
}
