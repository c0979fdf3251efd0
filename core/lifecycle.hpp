// Runs the active plugins' lifecycle hooks in activation order.
#pragma once

namespace core {

void run_init_hooks();       // master, after config; throws ConfigError on failure
void run_load_apps();        // master, or each worker with --lazy-apps; throws on failure
void check_need_app();       // throws NeedAppError when --need-app and no app was loaded
// --hook-pre-app, run_load_apps, check_need_app, --hook-post-app: where apps load (the master,
// or each worker with --lazy-apps).
void load_apps_with_hooks();
// --hook-accepting in a worker about to serve; a failure is logged (the worker serves on).
void run_accepting_hooks();
void run_post_fork_hooks();  // each worker
void run_thread_init_hooks();
void run_shutdown_hooks();

// host->get_extension for an id no active plugin offers: activates the installed plugin that
// provides it (and runs its init) while start-up is still under way; nullptr otherwise.
const void *extension_from_inactive_provider(const char *id);

struct NeedAppError {};
constexpr int kExitNoApp = 22;

}  // namespace core
