/**
 * The node side of a VM: its runtime directory (the contract in docs/vmm-process.md), the VMM processes the agent
 * launches or adopts, and the control socket. Knows nothing of the API server; depends on the crds model only for
 * writing spec.json.
 */
package dev.apiary.agent.runtime;
