package dev.youkiffm.internal;

import dev.youkiffm.OutputFrame;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * One pipe's frames on their way to a user's consumer: the {@link StdioPump} thread enqueues, a virtual thread
 * delivers them in order (one at a time, so the consumer sees them serially). Bounded: once {@link #LIMIT} bytes wait,
 * {@link #full()} tells the pump to stop reading this pipe (the container then blocks on its own full pipe) until the
 * consumer has taken half of them. Other pipes keep flowing. A consumer that throws is logged once and its stream is
 * drained and dropped.
 */
final class FrameQueue implements StdioPump.Sink {
    private static final System.Logger LOG = System.getLogger(FrameQueue.class.getName());
    /** Bytes that may wait for a consumer per pipe (plus one read chunk). */
    static final int LIMIT = 256 * 1024;

    private final Consumer<OutputFrame> consumer;
    private final String source;
    private final OutputFrame.Stream stream;
    private final ArrayDeque<OutputFrame> queue = new ArrayDeque<>();
    private long queuedBytes; // guarded by this
    private boolean delivering; // guarded by this: a delivery thread runs
    private volatile boolean full;
    private volatile Runnable resume = () -> { };
    private boolean broken; // delivery thread only

    FrameQueue(Consumer<OutputFrame> consumer, String source, OutputFrame.Stream stream) {
        this.consumer = consumer;
        this.source = source;
        this.stream = stream;
    }

    @Override
    public void data(byte[] bytes) {
        enqueue(new OutputFrame(source, stream, bytes, false));
    }

    @Override
    public void end() {
        enqueue(new OutputFrame(source, stream, new byte[0], true));
    }

    @Override
    public boolean full() {
        return full;
    }

    @Override
    public void onResume(Runnable wakePump) {
        resume = wakePump;
    }

    private void enqueue(OutputFrame f) {
        boolean start;
        synchronized (this) {
            queue.add(f);
            queuedBytes += f.data().length;
            if (queuedBytes >= LIMIT) {
                full = true;
            }
            start = !delivering;
            delivering = true;
        }
        if (start) {
            UserCallbacks.EXECUTOR.execute(this::deliver);
        }
    }

    private void deliver() {
        while (true) {
            OutputFrame f;
            synchronized (this) {
                f = queue.poll();
                if (f == null) {
                    delivering = false;
                    return;
                }
            }
            if (!broken) {
                try {
                    consumer.accept(f);
                } catch (Throwable t) {
                    broken = true;
                    LOG.log(System.Logger.Level.WARNING, "an output consumer of " + source + " threw; its "
                            + stream.name().toLowerCase(java.util.Locale.ROOT) + " is drained and dropped", t);
                }
            }
            boolean wake = false;
            synchronized (this) {
                queuedBytes -= f.data().length;
                if (full && queuedBytes <= LIMIT / 2) {
                    full = false;
                    wake = true;
                }
            }
            if (wake) {
                resume.run();
            }
        }
    }
}
