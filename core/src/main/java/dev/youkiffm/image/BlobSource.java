package dev.youkiffm.image;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/** Named files of an image: a directory (OCI layout) or a tar archive (docker-archive, oci-archive). */
sealed interface BlobSource extends Closeable {
    /** Opens {@code name} (a relative, {@code /}-separated path; untrusted, checked here). */
    InputStream open(String name) throws IOException;

    boolean exists(String name);

    String describe();

    static BlobSource of(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            return new Dir(path);
        }
        if (Files.isRegularFile(path)) {
            return new Tar(path);
        }
        throw new NoSuchFileException(path.toString(), null, "no image layout directory or archive");
    }

    static String checkName(String name) {
        List<String> c = SecurePaths.clean(name, name);
        if (c.isEmpty()) {
            throw new ImageException("invalid file name '" + name + "' in image");
        }
        return String.join("/", c);
    }

    record Dir(Path root) implements BlobSource {
        @Override
        public InputStream open(String name) throws IOException {
            Path p = SecurePaths.join(root, SecurePaths.resolve(root, SecurePaths.clean(checkName(name), name), true));
            if (!Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                // never open a fifo or device a hostile layout put there (open(2) of a fifo blocks)
                throw new NoSuchFileException(root + "!" + name, null, "not a regular file");
            }
            return Files.newInputStream(p);
        }

        @Override
        public boolean exists(String name) {
            return Files.isRegularFile(root.resolve(checkName(name)));
        }

        @Override
        public String describe() {
            return root.toString();
        }

        @Override
        public void close() {}
    }

    /** Random access into an uncompressed tar: entries are indexed once, then read by offset (thread-safe). */
    final class Tar implements BlobSource {
        private final Path file;
        private final FileChannel channel;
        private final Map<String, TarArchiveEntry> entries = new HashMap<>();

        Tar(Path file) throws IOException {
            this.file = file;
            try (TarFile tf = new TarFile(file)) {
                for (TarArchiveEntry e : tf.getEntries()) {
                    List<String> c = SecurePaths.clean(e.getName(), e.getName());
                    if (!c.isEmpty()) {
                        entries.put(String.join("/", c), e);
                    }
                }
            } catch (IOException | IllegalArgumentException e) {
                throw new ImageException("cannot read image archive " + file + ": " + e.getMessage(), e);
            }
            this.channel = FileChannel.open(file, StandardOpenOption.READ);
        }

        private TarArchiveEntry lookup(String name) throws NoSuchFileException {
            String n = checkName(name);
            for (int hops = 0; hops < 16; hops++) {
                TarArchiveEntry e = entries.get(n);
                if (e == null) {
                    throw new NoSuchFileException(file + "!" + name);
                }
                if (!e.isSymbolicLink() && !e.isLink()) {
                    return e;
                }
                // docker save writes repeated layers as links to the first copy
                String target = e.getLinkName();
                if (e.isSymbolicLink() && !target.startsWith("/")) {
                    int slash = n.lastIndexOf('/');
                    target = (slash < 0 ? "" : n.substring(0, slash + 1)) + target;
                }
                n = checkName(target);
            }
            throw new ImageException("too many links resolving " + name + " in " + file);
        }

        @Override
        public InputStream open(String name) throws IOException {
            TarArchiveEntry e = lookup(name);
            if (!e.isFile()) {
                throw new NoSuchFileException(file + "!" + name, null, "not a regular file");
            }
            return new RangeInputStream(channel, e.getDataOffset(), e.getSize());
        }

        @Override
        public boolean exists(String name) {
            try {
                return lookup(name).isFile();
            } catch (IOException | ImageException e) {
                return false;
            }
        }

        @Override
        public String describe() {
            return file.toString();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    final class RangeInputStream extends InputStream {
        private final FileChannel ch;
        private long pos;
        private final long end;

        RangeInputStream(FileChannel ch, long offset, long length) {
            this.ch = ch;
            this.pos = offset;
            this.end = offset + length;
        }

        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= end) {
                return -1;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
            if (n < 0) {
                throw new IOException("archive truncated");
            }
            pos += n;
            return n;
        }
    }
}
