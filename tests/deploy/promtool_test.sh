#!/usr/bin/env bash
# Checks deploy/prometheus with promtool: the scrape config (and the rule files it loads),
# the alert rules, and the rules' unit tests. Also checks that the Grafana dashboard is valid
# JSON and that every chatsync metric it or the rules query is one the daemon exports.
#
#   promtool_test.sh SOURCE_DIR
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 SOURCE_DIR" >&2; exit 2; }
dir="$1/deploy"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
command -v promtool >/dev/null || fail "promtool not installed (scripts/packages.sh install test)"

echo "--- promtool check config"
promtool check config "$dir/prometheus/prometheus.yml" || fail "check config"
echo "--- promtool check rules"
promtool check rules "$dir"/prometheus/rules/*.yml || fail "check rules"
echo "--- promtool test rules"
promtool test rules "$dir"/prometheus/tests/*.yml || fail "test rules"

echo "--- metric names"
known=" chatsync_build_info chatsync_http_requests_total chatsync_http_request_duration_seconds_bucket
chatsync_http_request_duration_seconds_sum chatsync_http_request_duration_seconds_count
chatsync_http_retries_total chatsync_waits_total chatsync_wait_seconds_total chatsync_pages_total
chatsync_rows_written_total chatsync_rows_unchanged_total chatsync_rows_deleted_total
chatsync_listing_shifts_total
chatsync_runs_total chatsync_run_duration_seconds_bucket chatsync_run_duration_seconds_sum
chatsync_run_duration_seconds_count chatsync_last_success_timestamp_seconds
chatsync_cursor_lag_seconds chatsync_errors_total chatsync_resource_running
chatsync_source_latched chatsync_database_up chatsync_task_failures_total chatsync_egress_changes_total
chatsync_webhook_requests_rejected_total chatsync_webhook_events_total chatsync_webhook_bytes_total
chatsync_webhook_ack_seconds_bucket chatsync_webhook_ack_seconds_sum chatsync_webhook_ack_seconds_count
chatsync_webhook_batch_events_bucket chatsync_webhook_batch_events_sum
chatsync_webhook_batch_events_count chatsync_status_value "
dashboard="$dir/grafana/chatsync-dashboard.json"
python3 -m json.tool "$dashboard" >/dev/null || fail "$dashboard is not valid JSON"
used=$(grep -ohE 'chatsync_[a-z_]+' "$dashboard" "$dir"/prometheus/rules/*.yml | sort -u)
for m in $used; do
    grep -qw -- "$m" <<<"$known" || fail "unknown metric $m in the dashboard or rules"
done
echo "$(wc -w <<<"$used") metric names, all known"
echo "PASS"
