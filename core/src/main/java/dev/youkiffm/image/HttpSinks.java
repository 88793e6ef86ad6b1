package dev.youkiffm.image;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/** Push-style HTTP body subscribers of {@link RegistryClient}: no thread ever blocks reading a body. */
final class HttpSinks {
    private HttpSinks() {}

    /** Push-style body consumer: the HTTP client's thread hands each buffer to {@link #accept}. */
    abstract static class Sink<T> implements HttpResponse.BodySubscriber<T> {
        private final CompletableFuture<T> result = new CompletableFuture<>();
        private volatile Flow.Subscription subscription;
        volatile long lastActivity = System.nanoTime();

        abstract void accept(ByteBuffer b) throws IOException;

        abstract T result() throws IOException;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (result.isDone()) {
                s.cancel();
            } else {
                s.request(1);
            }
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            synchronized (this) { // after abort() returns, no byte reaches accept(): a resumed attempt owns the file
                if (result.isDone()) {
                    return;
                }
                try {
                    for (ByteBuffer b : items) {
                        accept(b);
                    }
                    lastActivity = System.nanoTime();
                } catch (IOException | RuntimeException e) {
                    abort(e);
                    return;
                }
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            try {
                result.complete(result());
            } catch (IOException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        }

        @Override
        public CompletableFuture<T> getBody() {
            return result;
        }

        void abort(Throwable t) {
            synchronized (this) {
                result.completeExceptionally(t);
            }
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }

    static <T> HttpResponse.BodySubscriber<T> failing(IOException e) {
        return new Sink<>() {
            {
                abort(e);
            }

            @Override
            void accept(ByteBuffer b) {}

            @Override
            T result() throws IOException {
                throw e;
            }
        };
    }

    /**
     * Collects a body of at most {@code cap} bytes. Over the cap: with a {@code what}, the transfer is cut and a
     * {@link ManifestTooLargeException} thrown; without, the rest is ignored (error bodies).
     */
    static final class Capped extends Sink<byte[]> {
        private final long cap;
        private final String what;
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        Capped(long cap, String what) {
            this.cap = cap;
            this.what = what;
        }

        @Override
        void accept(ByteBuffer b) {
            int n = b.remaining();
            if (out.size() + (long) n > cap) {
                if (what != null) {
                    throw new ManifestTooLargeException(what + " is larger than " + cap + " bytes; refused", cap);
                }
                n = (int) (cap - out.size());
            }
            byte[] chunk = new byte[n];
            b.get(chunk);
            out.write(chunk, 0, n);
        }

        @Override
        byte[] result() {
            return out.toByteArray();
        }
    }
}
