package dev.apiary.agent.runtime;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * {@code agent.json}, written by the agent when it launches a run: which VM and which run a runtime directory serves,
 * so that a restarted agent can adopt it from the directory alone.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RunIdentity(String namespace, String name, String uid, long runId, Long pid, String launchedAt) {

    public String key() {
        return namespace + "/" + name;
    }

    public RunIdentity withPid(long p) {
        return new RunIdentity(namespace, name, uid, runId, p, launchedAt);
    }
}
