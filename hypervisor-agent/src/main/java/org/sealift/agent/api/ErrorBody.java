package org.sealift.agent.api;

/** The one error shape of the management API: {@code {"error": "not_found", "message": "..."}}. */
public record ErrorBody(String error, String message) {
}
