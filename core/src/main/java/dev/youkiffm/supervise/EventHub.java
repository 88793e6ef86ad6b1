package dev.youkiffm.supervise;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The supervisor's event stream: a {@link Flow.Publisher} of {@link ContainerEvent}s.
 *
 * <p>Delivery never blocks the supervisor or the runtime: every subscriber has its own bounded buffer
 * ({@link SupervisorOptions#eventBufferSize()}, a {@link SubmissionPublisher} underneath) and its {@code onNext} runs on
 * the delivery executor ({@link SupervisorOptions#eventExecutor()}, virtual threads by default), never on the runtime's
 * exit-watcher or stdio threads nor on the supervisor's scheduler. When a subscriber's buffer is full (it is slower
 * than the events, or requested fewer than were published) the new event is dropped for that subscriber only and
 * {@link #dropped(Flow.Subscriber)} / {@link #droppedTotal()} count it. Subscribers that need every event request
 * generously and keep up; back-pressure onto the containers is deliberately not offered (a slow listener must never
 * delay a restart or an exit).
 */
public final class EventHub implements Flow.Publisher<ContainerEvent>, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventHub.class.getName());

    private final SubmissionPublisher<ContainerEvent> publisher;
    private final Map<Flow.Subscriber<?>, AtomicLong> drops = new ConcurrentHashMap<>();
    private final AtomicLong droppedTotal = new AtomicLong();

    EventHub(Executor executor, int bufferSize) {
        this.publisher = new SubmissionPublisher<>(executor, bufferSize);
    }

    @Override
    public void subscribe(Flow.Subscriber<? super ContainerEvent> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        drops.putIfAbsent(subscriber, new AtomicLong());
        publisher.subscribe(subscriber);
    }

    /**
     * Calls {@code listener} for every event (on the delivery executor, one event at a time, in order) until the
     * returned handle is closed. A listener that throws is unsubscribed (and the exception logged).
     *
     * @param listener called for every event
     * @return closing it unsubscribes the listener
     */
    public AutoCloseable listen(Consumer<? super ContainerEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        ListenerSubscriber s = new ListenerSubscriber(listener);
        subscribe(s);
        return s;
    }

    /**
     * Events dropped for {@code subscriber} because its buffer was full.
     *
     * @param subscriber a subscriber of this hub
     * @return the count, 0 for an unknown subscriber
     */
    public long dropped(Flow.Subscriber<?> subscriber) {
        AtomicLong n = drops.get(subscriber);
        return n == null ? 0 : n.get();
    }

    /**
     * Events dropped for a listener handle returned by {@link #listen}.
     *
     * @param listenerHandle a handle {@link #listen} returned
     * @return the count, 0 for anything else
     */
    public long dropped(AutoCloseable listenerHandle) {
        return listenerHandle instanceof Flow.Subscriber<?> s ? dropped(s) : 0;
    }

    /**
     * Events dropped over all subscribers.
     *
     * @return the count
     */
    public long droppedTotal() {
        return droppedTotal.get();
    }

    /** {@return the number of current subscribers and listeners} */
    public int subscribers() {
        return publisher.getNumberOfSubscribers();
    }

    void publish(ContainerEvent e) {
        if (publisher.isClosed()) {
            return;
        }
        try {
            publisher.offer(e, (sub, item) -> {
                drops.computeIfAbsent(sub, k -> new AtomicLong()).incrementAndGet();
                droppedTotal.incrementAndGet();
                return false; // never retry: retrying would block the publisher
            });
        } catch (IllegalStateException closed) {
            // closed concurrently
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.WARNING, "cannot publish " + e, ex);
        }
    }

    @Override
    public void close() {
        publisher.close();
    }

    private final class ListenerSubscriber implements Flow.Subscriber<ContainerEvent>, AutoCloseable {
        private final Consumer<? super ContainerEvent> listener;
        private volatile Flow.Subscription subscription;
        private volatile boolean closed;

        ListenerSubscriber(Consumer<? super ContainerEvent> listener) {
            this.listener = listener;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (closed) {
                s.cancel();
            } else {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(ContainerEvent item) {
            if (closed) {
                return;
            }
            try {
                listener.accept(item);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "an event listener threw; it is unsubscribed", t);
                close();
            }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}

        @Override
        public void close() {
            closed = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            drops.remove(this);
        }
    }
}
