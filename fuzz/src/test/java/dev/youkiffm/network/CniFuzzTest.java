package dev.youkiffm.network;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.youkiffm.InvalidArgumentException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Fuzzes what the network layer parses from outside the JVM: a plugin's stdout ({@link CniResult#parse}; plugins are
 * separate programs, and a result is also what the attachment cache stores on disk), a network config list
 * ({@link NetworkConfigList#parse}) and the fast path's decision over it ({@link FastPath#plan}, which reads every
 * option of the bridge and host-local sections), and the network annotation of a container config
 * ({@link NetworkSpec#fromJson}). Properties: failures are only the documented {@link NetworkException} and
 * {@link InvalidArgumentException}, and no parser returns null.
 */
class CniFuzzTest {
    private static final RuntimeConf RT = new RuntimeConf("fuzz-1", "/proc/1/ns/net", "eth0", Map.of(), Map.of());

    @FuzzTest(maxDuration = "30s")
    @DictionaryEntries({"\"cniVersion\"", "\"1.0.0\"", "\"0.4.0\"", "\"plugins\"", "\"type\"", "\"bridge\"",
            "\"host-local\"", "\"ipam\"", "\"ranges\"", "\"subnet\"", "\"gateway\"", "\"rangeStart\"", "\"rangeEnd\"",
            "\"routes\"", "\"dst\"", "\"gw\"", "\"isGateway\"", "\"isDefaultGateway\"", "\"ipMasq\"", "\"mtu\"",
            "\"hairpinMode\"", "\"dataDir\"", "\"interfaces\"", "\"ips\"", "\"interface\"", "\"address\"",
            "\"sandbox\"", "\"dns\"", "\"nameservers\"", "\"networks\"", "\"ports\"", "\"extraHosts\"",
            "\"10.88.0.0/24\"", "\"::1/128\"", "\"0.0.0.0/0\"", "null", "-1", "4294967296", "[]", "{}"})
    void parse(byte[] input) {
        try {
            if (CniResult.parse(input, "fuzz") == null) {
                throw new AssertionError("CniResult.parse returned null");
            }
        } catch (NetworkException documented) {
            // a malformed result, named
        }
        try {
            NetworkConfigList list = NetworkConfigList.parse(input);
            if (list == null) {
                throw new AssertionError("NetworkConfigList.parse returned null");
            }
            FastPath.plan(list, RT); // a plan, or null for the plugins
        } catch (NetworkException documented) {
            // an invalid config, named
        }
        try {
            if (NetworkSpec.fromJson(new String(input, StandardCharsets.UTF_8)) == null) {
                throw new AssertionError("NetworkSpec.fromJson returned null");
            }
        } catch (InvalidArgumentException documented) {
            // a malformed annotation, field named
        }
    }
}
