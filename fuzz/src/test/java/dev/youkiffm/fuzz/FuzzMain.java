package dev.youkiffm.fuzz;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.io.PrintWriter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs one fuzz test ({@code fully.qualified.Class#method}) through the JUnit launcher, so scripts/fuzz.sh needs no
 * Maven invocation per target. With {@code JAZZER_FUZZ=1} Jazzer fuzzes it (for {@code -Djazzer.max_duration});
 * without, the seeds run as tests. Exits 0 if the test passed, 1 on a finding or any failure, 2 if nothing ran.
 */
public final class FuzzMain {
    private FuzzMain() {}

    public static void main(String[] args) {
        if (args.length != 1 || !args[0].contains("#")) {
            System.err.println("usage: FuzzMain fully.qualified.Class#method");
            System.exit(2);
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectMethod(args[0] + "(byte[])")).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary s = listener.getSummary();
        s.printTo(new PrintWriter(System.out, true));
        s.printFailuresTo(new PrintWriter(System.out, true), 50);
        if (s.getTestsStartedCount() == 0) {
            System.exit(2);
        }
        System.exit(s.getTotalFailureCount() == 0 && s.getTestsAbortedCount() == 0 ? 0 : 1);
    }
}
