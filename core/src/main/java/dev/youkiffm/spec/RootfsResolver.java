package dev.youkiffm.spec;

import java.nio.file.Path;

/**
 * Turns a {@link ContainerConfig#image() image reference} into a root filesystem directory, for configs built with
 * {@code withImage(...)} and no {@code withRootfs(...)}. The images feature ({@code dev.youkiffm.image}) provides
 * one; tests can pass a lambda.
 * Implementations are called on the thread that creates the bundle; one shared between threads must be thread-safe.
 */
@FunctionalInterface
public interface RootfsResolver {
    /**
     * Makes (or finds) a root filesystem for an image.
     *
     * @param imageRef the reference as given to {@link ContainerConfig.Builder#withImage(String)}
     * @return the absolute path of an unpacked root filesystem for it
     */
    Path resolve(String imageRef);
}
