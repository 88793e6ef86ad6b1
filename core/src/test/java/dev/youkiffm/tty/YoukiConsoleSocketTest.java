package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link ConsoleSocketCases} on the youki runtime. */
class YoukiConsoleSocketTest extends ConsoleSocketCases {
    YoukiConsoleSocketTest() {
        super("youki", RuntimeOptions.Mode.YOUKI);
    }
}
