/**
 * The Apiary operator. {@code scheduling} and {@code lifecycle} are pure decisions (no API server, no clock);
 * {@code vm} and {@code node} are the one reconciler per kind that carry them out; {@code runtime} holds the
 * informers, work queues, leader election, events and metrics; {@code app} is the Quarkus wiring. Decisions may
 * depend on {@code dev.apiary.crds} only; nothing here depends on {@code app}.
 */
package dev.apiary.operator;
