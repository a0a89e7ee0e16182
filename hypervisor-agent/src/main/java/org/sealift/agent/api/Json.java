package org.sealift.agent.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * The JSON mapping of the management API. Strict on input, because a typo in a migration request must not silently
 * fall back to a default: unknown fields, trailing data and nulls for numbers are errors.
 */
public final class Json {

    public static final String MEDIA_TYPE = "application/json";

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private Json() {
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    public static String writeString(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /**
     * Reads a request body as {@code type}.
     *
     * @throws ApiException 400 naming where the JSON is wrong and what was expected
     */
    public static <T> T read(byte[] body, Class<T> type, String what) {
        if (body.length == 0) {
            throw ApiException.badRequest("malformed_json", what + " needs a JSON body; send a JSON object with"
                    + " Content-Type: application/json");
        }
        try {
            return MAPPER.readValue(body, type);
        } catch (UnrecognizedPropertyException e) {
            throw ApiException.badRequest("unknown_field", what + " has an unknown field '" + e.getPropertyName()
                    + "'; known fields: " + String.join(", ", e.getKnownPropertyIds().stream().map(String::valueOf)
                            .sorted().toList()));
        } catch (InvalidFormatException e) {
            throw ApiException.badRequest("invalid_field", what + ": field '" + path(e) + "' has the value "
                    + e.getValue() + ", which is not a valid " + e.getTargetType().getSimpleName());
        } catch (MismatchedInputException e) {
            if (String.valueOf(e.getOriginalMessage()).startsWith("Cannot map `null`")) {
                throw ApiException.badRequest("invalid_field", what + ": field '" + path(e)
                        + "' is missing or null; give it a value");
            }
            throw ApiException.badRequest("invalid_field", what + ": " + (path(e).isEmpty() ? "the body"
                    : "field '" + path(e) + "'") + " does not have the expected type ("
                    + e.getOriginalMessage().split("\n")[0] + ")");
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed_json", what + " is not valid JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()
                    + "; send a well-formed JSON object");
        } catch (java.io.IOException e) {
            throw ApiException.badRequest("malformed_json", what + " cannot be read: " + e.getMessage());
        }
    }

    private static String path(MismatchedInputException e) {
        StringBuilder sb = new StringBuilder();
        for (var ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.toString();
    }
}
