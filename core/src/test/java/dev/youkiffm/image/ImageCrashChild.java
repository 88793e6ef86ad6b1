package dev.youkiffm.image;

import java.nio.file.Path;

/**
 * Child JVM for {@link LayerCacheTest}: opens the cache {@code args[0]}, makes a rootfs from tag {@code args[2]} of
 * the layout {@code args[1]}, prints its path, and waits to be killed with SIGKILL (never releasing it).
 */
public final class ImageCrashChild {
    private ImageCrashChild() {}

    public static void main(String[] args) throws Exception {
        LayerCache cache = LayerCache.open(Path.of(args[0]));
        Image img = Image.open(Path.of(args[1]), args[2]);
        Rootfs r = cache.createRootfs(img);
        System.out.println(r.path());
        System.out.flush();
        Thread.sleep(600_000);
    }
}
