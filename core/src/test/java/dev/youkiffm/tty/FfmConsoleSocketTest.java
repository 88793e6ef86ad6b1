package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link ConsoleSocketCases} on the ffm runtime. */
class FfmConsoleSocketTest extends ConsoleSocketCases {
    FfmConsoleSocketTest() {
        super("ffm", RuntimeOptions.Mode.FFM);
    }
}
