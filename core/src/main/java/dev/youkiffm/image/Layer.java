package dev.youkiffm.image;

/**
 * One layer of a selected image, bottom first.
 *
 * Immutable and thread-safe.
 *
 * @param index position in the image, 0 = bottom
 * @param mediaType the descriptor's media type (docker-archive: {@code application/vnd.docker.image.rootfs.diff.tar})
 * @param digest digest of the blob as stored (compressed); null for docker-archive layers, which are identified and
 *     verified by their diff id only
 * @param size the stored size in bytes; -1 if unknown
 * @param diffId digest of the uncompressed tar ({@code rootfs.diff_ids} of the config)
 * @param chainId the OCI chain id of this layer and all below it: identical stacks share cache entries
 */
public record Layer(int index, String mediaType, Digest digest, long size, Digest diffId, Digest chainId) {}
