/**
 * The agent API (DESIGN.md, "The agent API"): HTTPS on Vert.x, bearer tokens checked with TokenReview and
 * SubjectAccessReview ({@link dev.apiary.agent.api.AccessReview}), serial history and live console from the runtime
 * directory, guest actions through the control socket. Depends on the runtime and reconcile packages.
 */
package dev.apiary.agent.api;
