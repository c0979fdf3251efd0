// Freezes the ABI: every offset and size of every struct in plugin.h, rpc.h and cache.h, per minor.
// A failure here means a plugin built against an older header would break: add fields only at
// the end of a struct, bump UWSGI_ABI_MINOR, and add the new offsets below, never edit old ones.
// Adding a host function is: its field at the end of uwsgi_host in plugin.h (with the minor's
// comment), its entry in core/host_table.cpp, and its offset here.
#include "plugin_loader.hpp"

#include <uwsgi/plugin.h>
#include <uwsgi/cache.h>
#include <uwsgi/rpc.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

TEST_CASE("ABI version constants") {
    CHECK(UWSGI_PLUGIN_MAGIC == 0x55575347u);
    CHECK(UWSGI_ABI_MAJOR == 1);
    CHECK(UWSGI_ABI_MINOR == 1);
}

TEST_CASE("option kinds and return codes") {
    CHECK(UWSGI_OPT_FLAG == 1u);
    CHECK(UWSGI_OPT_VALUE == 2u);
    CHECK(UWSGI_OPT_LIST == 3u);
    CHECK(UWSGI_OPT_CONFIG == 4u);
    CHECK(UWSGI_OPT_OPTIONAL == 5u);  // ABI 1.1
    CHECK(UWSGI_OPT_OPTIONAL_LIST == 6u);  // ABI 1.1
    CHECK(UWSGI_OK == 0);
    CHECK(UWSGI_ERROR == -1);
    CHECK(UWSGI_EPEER == -2);
    CHECK(UWSGI_ELIMIT == -3);
}

TEST_CASE("uwsgi_str and uwsgi_header") {
    CHECK(sizeof(uwsgi_str) == 16);
    CHECK(offsetof(uwsgi_str, ptr) == 0);
    CHECK(offsetof(uwsgi_str, len) == 8);
    CHECK(sizeof(uwsgi_header) == 32);
    CHECK(offsetof(uwsgi_header, name) == 0);
    CHECK(offsetof(uwsgi_header, value) == 16);
}

TEST_CASE("uwsgi_option") {
    CHECK(sizeof(uwsgi_option) == 40);
    CHECK(offsetof(uwsgi_option, name) == 0);
    CHECK(offsetof(uwsgi_option, aliases) == 8);
    CHECK(offsetof(uwsgi_option, kind) == 16);
    CHECK(offsetof(uwsgi_option, reserved) == 20);
    CHECK(offsetof(uwsgi_option, metavar) == 24);
    CHECK(offsetof(uwsgi_option, help) == 32);
}

TEST_CASE("uwsgi_protocol") {
    CHECK(sizeof(uwsgi_protocol) == 104);
    CHECK(offsetof(uwsgi_protocol, struct_size) == 0);
    CHECK(offsetof(uwsgi_protocol, reserved) == 4);
    CHECK(offsetof(uwsgi_protocol, name) == 8);
    CHECK(offsetof(uwsgi_protocol, socket_option) == 16);
    CHECK(offsetof(uwsgi_protocol, conn_open) == 24);
    CHECK(offsetof(uwsgi_protocol, conn_close) == 32);
    CHECK(offsetof(uwsgi_protocol, read_request) == 40);
    CHECK(offsetof(uwsgi_protocol, read_body) == 48);
    CHECK(offsetof(uwsgi_protocol, write_head) == 56);
    CHECK(offsetof(uwsgi_protocol, write_body) == 64);
    CHECK(offsetof(uwsgi_protocol, finish) == 72);
    CHECK(offsetof(uwsgi_protocol, has_pending) == 80);
    CHECK(offsetof(uwsgi_protocol, abort) == 88);
    CHECK(offsetof(uwsgi_protocol, sendfile) == 96);
}

TEST_CASE("uwsgi_host") {
    CHECK(offsetof(uwsgi_host, struct_size) == 0);
    CHECK(offsetof(uwsgi_host, abi_major) == 4);
    CHECK(offsetof(uwsgi_host, abi_minor) == 6);
    CHECK(offsetof(uwsgi_host, server_version) == 8);
    CHECK(offsetof(uwsgi_host, log) == 16);
    CHECK(offsetof(uwsgi_host, opt_get) == 24);
    CHECK(offsetof(uwsgi_host, opt_count) == 32);
    CHECK(offsetof(uwsgi_host, opt_at) == 40);
    CHECK(offsetof(uwsgi_host, opt_name_at) == 48);
    CHECK(offsetof(uwsgi_host, worker_id) == 56);
    CHECK(offsetof(uwsgi_host, master_pid) == 64);
    CHECK(offsetof(uwsgi_host, num_processes) == 72);
    CHECK(offsetof(uwsgi_host, num_threads) == 80);
    CHECK(offsetof(uwsgi_host, reload) == 88);
    CHECK(offsetof(uwsgi_host, stop) == 96);
    CHECK(offsetof(uwsgi_host, register_app) == 104);
    CHECK(offsetof(uwsgi_host, set_proc_name) == 112);
    CHECK(offsetof(uwsgi_host, req_modifier1) == 120);
    CHECK(offsetof(uwsgi_host, req_modifier2) == 128);
    CHECK(offsetof(uwsgi_host, req_var_count) == 136);
    CHECK(offsetof(uwsgi_host, req_var_at) == 144);
    CHECK(offsetof(uwsgi_host, req_var) == 152);
    CHECK(offsetof(uwsgi_host, req_id) == 160);
    CHECK(offsetof(uwsgi_host, req_read) == 168);
    CHECK(offsetof(uwsgi_host, resp_start) == 176);
    CHECK(offsetof(uwsgi_host, resp_write) == 184);
    CHECK(offsetof(uwsgi_host, resp_sendfile) == 192);
    CHECK(offsetof(uwsgi_host, resp_started) == 200);
    CHECK(offsetof(uwsgi_host, req_add_var) == 208);
    CHECK(offsetof(uwsgi_host, req_set_modifiers) == 216);
    CHECK(offsetof(uwsgi_host, conn_read) == 224);
    CHECK(offsetof(uwsgi_host, conn_write) == 232);
    CHECK(offsetof(uwsgi_host, conn_sendfile) == 240);
    CHECK(offsetof(uwsgi_host, conn_fd) == 248);
    CHECK(offsetof(uwsgi_host, conn_peer) == 256);
    CHECK(offsetof(uwsgi_host, conn_local) == 264);
    CHECK(offsetof(uwsgi_host, get_extension) == 272);
    // ABI 1.1
    CHECK(offsetof(uwsgi_host, setting) == 280);
}

TEST_CASE("uwsgi_host: the ABI 1.1 module, WebSocket and signal fields") {
    CHECK(offsetof(uwsgi_host, opt_kind) == 288);
    CHECK(offsetof(uwsgi_host, worker_stats) == 296);
    CHECK(offsetof(uwsgi_host, total_requests) == 304);
    CHECK(offsetof(uwsgi_host, started_on) == 312);
    CHECK(offsetof(uwsgi_host, is_a_reload) == 320);
    CHECK(offsetof(uwsgi_host, set_user_harakiri) == 328);
    CHECK(offsetof(uwsgi_host, set_accepting) == 336);
    CHECK(offsetof(uwsgi_host, req_conn) == 344);
    CHECK(offsetof(uwsgi_host, req_log_this) == 352);
    CHECK(offsetof(uwsgi_host, req_set_logvar) == 360);
    CHECK(offsetof(uwsgi_host, req_get_logvar) == 368);
    CHECK(offsetof(uwsgi_host, lock) == 376);
    CHECK(offsetof(uwsgi_host, unlock) == 384);
    CHECK(offsetof(uwsgi_host, is_locked) == 392);
    CHECK(offsetof(uwsgi_host, lock_count) == 400);
    CHECK(offsetof(uwsgi_host, ws_handshake) == 408);
    CHECK(offsetof(uwsgi_host, ws_recv) == 416);
    CHECK(offsetof(uwsgi_host, ws_send) == 424);
    CHECK(offsetof(uwsgi_host, register_signal) == 432);
    CHECK(offsetof(uwsgi_host, raise_signal) == 440);
    CHECK(offsetof(uwsgi_host, signal_registered) == 448);
    CHECK(offsetof(uwsgi_host, signal_wait) == 456);
    CHECK(offsetof(uwsgi_host, add_timer) == 464);
    CHECK(offsetof(uwsgi_host, add_cron) == 472);
    CHECK(offsetof(uwsgi_host, add_file_monitor) == 480);
    CHECK(offsetof(uwsgi_host, register_process) == 488);
    CHECK(offsetof(uwsgi_host, process_kind) == 496);
    CHECK(offsetof(uwsgi_host, mule_msg) == 504);
    CHECK(offsetof(uwsgi_host, mule_get_msg) == 512);
    CHECK(offsetof(uwsgi_host, in_farm) == 520);
    CHECK(UWSGI_MULE_FARMS == 2u);
    CHECK(UWSGI_MULE_FARMS_ONLY == 4u);
    CHECK(UWSGI_WS_RECV_BUFFERED == 2);
}

TEST_CASE("uwsgi_process_kind (ABI 1.1)") {
    CHECK(sizeof(uwsgi_process_kind) == 40);
    CHECK(offsetof(uwsgi_process_kind, struct_size) == 0);
    CHECK(offsetof(uwsgi_process_kind, count) == 4);
    CHECK(offsetof(uwsgi_process_kind, name) == 8);
    CHECK(offsetof(uwsgi_process_kind, run) == 16);
    CHECK(offsetof(uwsgi_process_kind, stop) == 24);
    CHECK(offsetof(uwsgi_process_kind, ctx) == 32);
}

TEST_CASE("uwsgi_host: the ABI 1.1 spooler fields") {
    CHECK(offsetof(uwsgi_host, app_counters) + sizeof(void *) == 616);
    CHECK(offsetof(uwsgi_host, spool) == 528);
    CHECK(offsetof(uwsgi_host, register_spooler) == 536);
    CHECK(offsetof(uwsgi_host, spooler_read_task) == 544);
    CHECK(offsetof(uwsgi_host, spooler_count) == 552);
    CHECK(offsetof(uwsgi_host, spooler_pid) == 560);
    CHECK(offsetof(uwsgi_host, spooler_dir) == 568);
    CHECK(offsetof(uwsgi_host, spooler_index) == 576);
    CHECK(offsetof(uwsgi_host, set_spooler_frequency) == 584);
    CHECK(offsetof(uwsgi_host, app_register) == 592);
    CHECK(offsetof(uwsgi_host, req_set_app) == 600);
    CHECK(offsetof(uwsgi_host, app_counters) == 608);
    CHECK(UWSGI_SPOOL_OK == -2);
    CHECK(UWSGI_SPOOL_RETRY == -1);
    CHECK(UWSGI_SPOOL_IGNORE == 0);
}

TEST_CASE("uwsgi_host: the ABI 1.1 TLS fields for plugins' sockets") {
    CHECK(offsetof(uwsgi_host, tls_close) + sizeof(void *) == 664);
    CHECK(offsetof(uwsgi_host, tls_server) == 616);
    CHECK(offsetof(uwsgi_host, tls_accept) == 624);
    CHECK(offsetof(uwsgi_host, tls_recv) == 632);
    CHECK(offsetof(uwsgi_host, tls_send) == 640);
    CHECK(offsetof(uwsgi_host, tls_pending) == 648);
    CHECK(offsetof(uwsgi_host, tls_close) == 656);
    CHECK(UWSGI_TLS_WANT_READ == -10);
    CHECK(UWSGI_TLS_WANT_WRITE == -11);
}

TEST_CASE("uwsgi_host: the ABI 1.1 listen_socket and mule_file") {
    CHECK(sizeof(uwsgi_host) == 680);
    CHECK(offsetof(uwsgi_host, listen_socket) == 664);
    CHECK(offsetof(uwsgi_host, mule_file) == 672);
}

TEST_CASE("uwsgi_worker_stats (ABI 1.1)") {
    CHECK(sizeof(uwsgi_worker_stats) == 96);
    CHECK(offsetof(uwsgi_worker_stats, struct_size) == 0);
    CHECK(offsetof(uwsgi_worker_stats, id) == 4);
    CHECK(offsetof(uwsgi_worker_stats, pid) == 8);
    CHECK(offsetof(uwsgi_worker_stats, busy) == 12);
    CHECK(offsetof(uwsgi_worker_stats, accepting) == 16);
    CHECK(offsetof(uwsgi_worker_stats, cheaped) == 20);
    CHECK(offsetof(uwsgi_worker_stats, requests) == 24);
    CHECK(offsetof(uwsgi_worker_stats, tx) == 32);
    CHECK(offsetof(uwsgi_worker_stats, running_time) == 40);
    CHECK(offsetof(uwsgi_worker_stats, avg_rt) == 48);
    CHECK(offsetof(uwsgi_worker_stats, respawn_count) == 56);
    CHECK(offsetof(uwsgi_worker_stats, last_spawn) == 64);
    CHECK(offsetof(uwsgi_worker_stats, exceptions) == 72);
    CHECK(offsetof(uwsgi_worker_stats, signals) == 80);
    CHECK(offsetof(uwsgi_worker_stats, running_signal) == 88);
    CHECK(offsetof(uwsgi_worker_stats, paused) == 92);
}

TEST_CASE("uwsgi_plugin") {
    CHECK(offsetof(uwsgi_plugin, magic) == 0);
    CHECK(offsetof(uwsgi_plugin, abi_major) == 4);
    CHECK(offsetof(uwsgi_plugin, abi_minor) == 6);
    CHECK(offsetof(uwsgi_plugin, struct_size) == 8);
    CHECK(offsetof(uwsgi_plugin, reserved) == 12);
    CHECK(offsetof(uwsgi_plugin, name) == 16);
    CHECK(offsetof(uwsgi_plugin, version) == 24);
    CHECK(offsetof(uwsgi_plugin, description) == 32);
    CHECK(offsetof(uwsgi_plugin, depends) == 40);  // `requires` in 1.0 headers
    CHECK(offsetof(uwsgi_plugin, options) == 48);
    CHECK(offsetof(uwsgi_plugin, init) == 56);
    CHECK(offsetof(uwsgi_plugin, load_apps) == 64);
    CHECK(offsetof(uwsgi_plugin, post_fork) == 72);
    CHECK(offsetof(uwsgi_plugin, thread_init) == 80);
    CHECK(offsetof(uwsgi_plugin, shutdown) == 88);
    CHECK(offsetof(uwsgi_plugin, modifier1) == 96);
    CHECK(offsetof(uwsgi_plugin, request) == 104);
    CHECK(offsetof(uwsgi_plugin, after_request) == 112);
    CHECK(offsetof(uwsgi_plugin, protocol) == 120);
    CHECK(offsetof(uwsgi_plugin, get_extension) == 128);
}

// What the loader demands of a plugin that claims ABI 1.0: the 1.0 sizes, not today's sizeof.
TEST_CASE("tables are checked against the size of the plugin's minor") {
    CHECK(core::descriptor_size_for_minor(0) == 136);
    CHECK(core::protocol_size_for_minor(0) == 104);
    CHECK(core::descriptor_size_for_minor(1) == sizeof(uwsgi_plugin));
    CHECK(core::protocol_size_for_minor(1) == sizeof(uwsgi_protocol));
}

TEST_CASE("uwsgi.rpc/1") {
    CHECK(std::string(UWSGI_RPC_EXTENSION) == "uwsgi.rpc/1");
    CHECK(UWSGI_RPC_MAX_ARGS == 254);
    CHECK(UWSGI_RPC_MAX_NAME == 255);
    CHECK(sizeof(uwsgi_rpc_api) == 40);
    CHECK(offsetof(uwsgi_rpc_api, struct_size) == 0);
    CHECK(offsetof(uwsgi_rpc_api, reserved) == 4);
    CHECK(offsetof(uwsgi_rpc_api, register_function) == 8);
    CHECK(offsetof(uwsgi_rpc_api, call_local) == 16);
    CHECK(offsetof(uwsgi_rpc_api, call_remote) == 24);
    CHECK(offsetof(uwsgi_rpc_api, function_at) == 32);
}

TEST_CASE("uwsgi.cache/1") {
    CHECK(std::string(UWSGI_CACHE_EXTENSION) == "uwsgi.cache/1");
    CHECK(UWSGI_CACHE_UPDATE == 1);
    CHECK(UWSGI_CACHE_INC == 1);
    CHECK(UWSGI_CACHE_DEC == 2);
    CHECK(UWSGI_CACHE_MUL == 3);
    CHECK(UWSGI_CACHE_DIV == 4);
    CHECK(sizeof(uwsgi_cache_api) == 80);
    CHECK(offsetof(uwsgi_cache_api, struct_size) == 0);
    CHECK(offsetof(uwsgi_cache_api, reserved) == 4);
    CHECK(offsetof(uwsgi_cache_api, lookup) == 8);
    CHECK(offsetof(uwsgi_cache_api, get) == 16);
    CHECK(offsetof(uwsgi_cache_api, set) == 24);
    CHECK(offsetof(uwsgi_cache_api, remove) == 32);
    CHECK(offsetof(uwsgi_cache_api, exists) == 40);
    CHECK(offsetof(uwsgi_cache_api, clear) == 48);
    CHECK(offsetof(uwsgi_cache_api, math) == 56);
    CHECK(offsetof(uwsgi_cache_api, key_at) == 64);
    CHECK(offsetof(uwsgi_cache_api, info) == 72);
    CHECK(sizeof(uwsgi_cache_info) == 88);
    CHECK(offsetof(uwsgi_cache_info, name) == 8);
    CHECK(offsetof(uwsgi_cache_info, max_items) == 16);
    CHECK(offsetof(uwsgi_cache_info, blocksize) == 24);
    CHECK(offsetof(uwsgi_cache_info, keysize) == 32);
    CHECK(offsetof(uwsgi_cache_info, items) == 40);
    CHECK(offsetof(uwsgi_cache_info, hits) == 48);
    CHECK(offsetof(uwsgi_cache_info, misses) == 56);
    CHECK(offsetof(uwsgi_cache_info, full) == 64);
    CHECK(offsetof(uwsgi_cache_info, purge_lru) == 72);
    CHECK(offsetof(uwsgi_cache_info, hashsize) == 80);
}

TEST_CASE("uwsgi_plugin: the ABI 1.1 fields") {
    CHECK(sizeof(uwsgi_plugin) == 160);
    CHECK(offsetof(uwsgi_plugin, provides) == 136);
    CHECK(offsetof(uwsgi_plugin, mule) == 144);
    CHECK(offsetof(uwsgi_plugin, mule_msg) == 152);
}
