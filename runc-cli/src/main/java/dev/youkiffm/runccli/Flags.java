package dev.youkiffm.runccli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * runc's flag syntax (urfave/cli v1 over Go's flag package): {@code -name} or {@code --name}, values as
 * {@code --name value} or {@code --name=value}, booleans as {@code --name} or {@code --name=true|false}. Flags may
 * follow positional arguments (urfave reorders them) except where {@code stopAtPositional} (runc's exec, whose
 * command line after the id belongs to the process). {@code --} ends the flags.
 *
 * @param values value flags seen, by canonical name, in order
 * @param bools boolean flags seen, by canonical name
 * @param positional the remaining arguments
 */
record Flags(Map<String, List<String>> values, Map<String, Boolean> bools, List<String> positional) {

    /** A usage error: runc prints it and exits 1. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /**
     * @param valueFlags alias (without dashes) to canonical name, for flags taking a value
     * @param boolFlags alias to canonical name, for boolean flags
     */
    static Flags parse(List<String> args, Map<String, String> valueFlags, Map<String, String> boolFlags,
            boolean stopAtPositional) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        Map<String, Boolean> bools = new LinkedHashMap<>();
        List<String> positional = new ArrayList<>();
        boolean flagsDone = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (flagsDone || !a.startsWith("-") || a.equals("-")) {
                positional.add(a);
                if (stopAtPositional) {
                    flagsDone = true;
                }
                continue;
            }
            if (a.equals("--")) {
                flagsDone = true;
                continue;
            }
            String body = a.startsWith("--") ? a.substring(2) : a.substring(1);
            int eq = body.indexOf('=');
            String name = eq < 0 ? body : body.substring(0, eq);
            String inline = eq < 0 ? null : body.substring(eq + 1);
            if (valueFlags.containsKey(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageException("flag needs an argument: -" + name);
                    }
                    v = args.get(++i);
                }
                values.computeIfAbsent(valueFlags.get(name), k -> new ArrayList<>()).add(v);
            } else if (boolFlags.containsKey(name)) {
                boolean on = true;
                if (inline != null) {
                    if (!Set.of("true", "false", "1", "0", "t", "f", "TRUE", "FALSE").contains(inline)) {
                        throw new UsageException("invalid boolean value \"" + inline + "\" for -" + name);
                    }
                    on = inline.startsWith("t") || inline.startsWith("T") || inline.equals("1");
                }
                bools.put(boolFlags.get(name), on);
            } else {
                throw new UsageException("flag provided but not defined: -" + name);
            }
        }
        return new Flags(values, bools, positional);
    }

    String value(String canonical) {
        List<String> v = values.get(canonical);
        return v == null ? null : v.getLast();
    }

    List<String> all(String canonical) {
        return values.getOrDefault(canonical, List.of());
    }

    boolean on(String canonical) {
        return bools.getOrDefault(canonical, false);
    }
}
