package dev.apiary.agent.runtime;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * {@code stop.json}, written by the agent when it asks a VMM to stop: kept in the directory so that an agent restarted
 * mid-stop continues the same sequence (power button, then hard stop after the grace period, then SIGKILL).
 *
 * @param at         when the power button was pressed (epoch milliseconds)
 * @param graceMillis how long the guest gets to power off before the hard stop
 * @param reason     why (Stopped on request, VM deleted, superseded by a newer run, moved off this node)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record StopRequest(long at, long graceMillis, String reason) {
}
