package dev.apiary.agent.api;

import java.util.List;

/**
 * Who a bearer token belongs to and what they may do: the questions the agent puts to the API server (TokenReview,
 * SubjectAccessReview), behind an interface so that the decision code does not care how they are answered.
 */
public interface AccessReview {
    /** The user of a token; null when the token is not valid. Throws {@link ReviewUnavailable} when nobody can say. */
    User authenticate(String token);

    /** Whether the user may {@code verb} the VirtualMachine {@code namespace/name} (name null: the namespace). */
    boolean allowed(User user, String verb, String namespace, String name);

    record User(String name, String uid, List<String> groups) {}

    /** The API server could not be asked. */
    final class ReviewUnavailable extends RuntimeException {
        public ReviewUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
