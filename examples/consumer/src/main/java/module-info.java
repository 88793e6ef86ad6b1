/** The consumer example as a named module: run it with {@code --module-path}. */
module dev.youkiffm.examples.consumer {
    requires dev.youkiffm.core;
    requires dev.youkiffm.testkit;
}
