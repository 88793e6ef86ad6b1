package dev.youkiffm.tty;

import dev.youkiffm.RuntimeOptions;

/** {@link TerminalCases} and {@link HostileTerminalCases} on the runc CLI (console socket: {@code --console-socket}). */
class RuncTerminalTest extends HostileTerminalCases {
    RuncTerminalTest() {
        super("runc", RuntimeOptions.Mode.RUNC);
    }
}
