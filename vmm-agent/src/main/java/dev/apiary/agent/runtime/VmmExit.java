package dev.apiary.agent.runtime;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** {@code exit.json}: how the VMM ended on its own (absent when it was killed by a signal). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record VmmExit(Integer code, String reason, String message, String at) {
}
