package dev.youkiffm.image;

/** No image in the layout or archive matches the requested reference and platform; the message lists what exists. */
public class ImageNotFoundException extends ImageException {
    public ImageNotFoundException(String message) {
        super(message);
    }
}
