package dev.youkiffm;

/**
 * Base of every error the library throws. Unchecked, like docker-java's.
 * Immutable once thrown; safe to pass between threads.
 */
public class ContainerException extends RuntimeException {
    /**
     * An error with no underlying cause.
     *
     * @param message what failed
     */
    public ContainerException(String message) {
        super(message);
    }

    /**
     * An error caused by {@code cause}.
     *
     * @param message what failed
     * @param cause the underlying failure
     */
    public ContainerException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Most characters of foreign text (a runtime's or hook's words, a file's content) a message carries. */
    public static final int MAX_FOREIGN_TEXT = 4096;

    /**
     * {@return {@code s} cut to {@link #MAX_FOREIGN_TEXT} characters, saying how much was cut}
     *
     * @param s foreign text, or null (returned as is)
     */
    public static String capForeign(String s) {
        if (s == null || s.length() <= MAX_FOREIGN_TEXT) {
            return s;
        }
        return s.substring(0, MAX_FOREIGN_TEXT) + "... (" + (s.length() - MAX_FOREIGN_TEXT) + " more characters cut)";
    }
}
