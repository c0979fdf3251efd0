// Runs the active plugins' lifecycle hooks in activation order.
#pragma once

namespace core {

void run_init_hooks();       // master, after config; throws ConfigError on failure
void run_load_apps();        // master, or each worker with --lazy-apps; throws on failure
void check_need_app();       // throws NeedAppError when --need-app and no app was loaded
void run_post_fork_hooks();  // each worker
void run_thread_init_hooks();
void run_shutdown_hooks();

struct NeedAppError {};
constexpr int kExitNoApp = 22;

}  // namespace core
