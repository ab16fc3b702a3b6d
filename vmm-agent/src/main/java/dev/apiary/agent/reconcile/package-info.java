/**
 * The agent's decisions, as pure functions of what the cluster says (the VMs, as last seen) and what the node says
 * (the runtime directories, see {@link dev.apiary.agent.runtime.LocalRun}): which VMM to launch, stop, kill or clean
 * up, which finalizer to add or release, and what each VM's status should say. No API server, no clock, no files;
 * {@link dev.apiary.agent.reconcile.NodeReconciler} carries the plans out.
 */
package dev.apiary.agent.reconcile;
