package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link TerminalCases} and {@link HostileTerminalCases} on the youki CLI (console socket: {@code --console-socket}). */
class YoukiTerminalTest extends HostileTerminalCases {
    YoukiTerminalTest() {
        super("youki", RuntimeOptions.Mode.YOUKI);
    }
}
