# Read by ctest after the discovered tests: the end-to-end tests that take longest, with their
# rough duration in seconds as COST. ctest starts the costliest first, so a long test does not
# begin last and hold the run open alone. After a first run ctest uses the durations it
# measured instead; this is for a fresh build, as in CI. A parameterized test's name is the
# one gtest_discover_tests gives it, with its parameter. A name that matches no test is
# ignored: after renaming a test, rename it here.
set(_chatsync_costs
    "Replicas.ThreeDaemonsShareTheScheduleTheBudgetAndAKilledOnesWork" 170
    "Replicas.MesiboRunsOnlyOnTheReplicaThatHoldsItsPinnedAddress" 50
    "Tiledesk.FullSyncThenOnlyWhatChanged" 40
    "RateLimit/TiledeskNoBudget.CompletesThroughRateLimitAnswers/backoff  # GetParam() = backoff" 30
    "RateLimit/TiledeskNoBudget.CompletesThroughRateLimitAnswers/retry_after  # GetParam() = retry_after" 30
    "ManySources.TwoHundredFilesRunReloadAndRefuseABrokenOne" 30
    "DateFilters/TiledeskDays.LateChangesAcrossMidnightAreNotMissed/current  # GetParam() = \"current\"" 25
    "DateFilters/TiledeskDays.LateChangesAcrossMidnightAreNotMissed/legacy  # GetParam() = \"legacy\"" 25
    "Tiledesk.RevokedSignInTokenIsRenewedOnce" 15
    "JivoChat.PostgresRestartMidStreamLosesNothingAcknowledged" 15
)
while(_chatsync_costs)
    list(POP_FRONT _chatsync_costs _name _cost)
    set_tests_properties("${_name}" PROPERTIES COST ${_cost})
endwhile()
