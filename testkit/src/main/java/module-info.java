/** Test fixtures: a busybox rootfs ({@link dev.youkiffm.testkit.BusyboxRootfs}) and bundle over it. */
module dev.youkiffm.testkit {
    requires com.fasterxml.jackson.databind;

    exports dev.youkiffm.testkit;
}
