package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link ConsoleSocketCases} on the crun runtime. */
class CrunConsoleSocketTest extends ConsoleSocketCases {
    CrunConsoleSocketTest() {
        super("crun", RuntimeOptions.Mode.CRUN);
    }
}
