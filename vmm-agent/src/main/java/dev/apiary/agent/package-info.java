/**
 * The vmm-agent: one per node. {@link dev.apiary.agent.AgentRuntime} wires the node registration
 * ({@code node}), the reconciler and VMM processes ({@code reconcile}, {@code runtime}) and the agent API
 * ({@code api}); {@code app} starts it under Quarkus. The runtime is plain Java so that tests can start, stop and
 * restart agents in-process.
 */
package dev.apiary.agent;
