package dev.youkiffm.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

final class JsonCheck {
    private JsonCheck() {}

    static void mediaType(Path json, String expected) throws Exception {
        assertEquals(expected, Image.JSON.readTree(Files.readAllBytes(json)).path("mediaType").asText());
    }
}
