/**
 * The agent's VmmNode: registration, the host facts it publishes (capacity, KVM, the VMM's capability probe
 * verdict, versions, endpoint, certificate fingerprint) and the heartbeat. Depends on the crds model and the
 * Kubernetes client only.
 */
package dev.apiary.agent.node;
