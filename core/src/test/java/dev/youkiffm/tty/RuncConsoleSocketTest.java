package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link ConsoleSocketCases} on the runc runtime. */
class RuncConsoleSocketTest extends ConsoleSocketCases {
    RuncConsoleSocketTest() {
        super("runc", RuntimeOptions.Mode.RUNC);
    }
}
