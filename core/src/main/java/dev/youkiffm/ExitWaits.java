package dev.youkiffm;

import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

final class ExitWaits {
    private ExitWaits() {}

    static OptionalInt await(CompletableFuture<Integer> exit, Duration timeout) {
        try {
            return OptionalInt.of(exit.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ContainerException("interrupted while waiting for exit", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ContainerException ce) {
                throw ce;
            }
            throw new ContainerException("waiting for exit failed: " + e.getCause(), e.getCause());
        } catch (CancellationException e) {
            throw new ContainerException("exit wait cancelled", e);
        }
    }
}
