// The channel between uWSGI's Emperor and a vassal, as uWSGI 2.0 defines it (core/emperor.c):
// the emperor makes a socketpair per vassal and passes one end in the environment variable
// UWSGI_EMPEROR_FD. One-byte messages each way. The vassal's side lives in the master
// (vassal_channel.cpp), the emperor's in emperor.cpp.
#pragma once

namespace core::emperor_msg {

// emperor -> vassal
constexpr char kStop = 0;            // remove me (uWSGI: kill_them_all)
constexpr char kReload = 1;          // graceful reload (the config file changed)
constexpr char kGracefulStop = 2;    // remove me gracefully

// vassal -> emperor
constexpr char kSpawned = 1;         // "has been spawned" (ready)
constexpr char kAccepting = 5;       // "ready to accept requests"
constexpr char kLoyal = 17;          // "announcing my loyalty to the Emperor"
constexpr char kVoluntaryStop = 22;  // the vassal asks to be stopped
constexpr char kHeartbeat = 26;      // --heartbeat: "a worker still waits for requests"

constexpr const char *kFdEnv = "UWSGI_EMPEROR_FD";
// A vassal exiting with this code is not respawned (uWSGI's UWSGI_EXILE_CODE).
constexpr int kExileCode = 26;

}  // namespace core::emperor_msg
