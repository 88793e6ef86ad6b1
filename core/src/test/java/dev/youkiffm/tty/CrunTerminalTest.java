package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link TerminalCases} and {@link HostileTerminalCases} on the crun CLI (console socket: {@code --console-socket}). */
class CrunTerminalTest extends HostileTerminalCases {
    CrunTerminalTest() {
        super("crun", RuntimeOptions.Mode.CRUN);
    }
}
