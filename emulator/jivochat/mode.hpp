#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "emulator/frame/mode.hpp"
#include "emulator/jivochat/emitter.hpp"

/// @file
/// JivoChat (see /work/shared/apis/jivochat.md). Jivo has no pull API: it pushes. So this mode
/// is mostly an event emitter that POSTs Webhooks API, CRM, Chat API and Bot API events to
/// the URLs a test gives (the daemon's receivers) and records each answer, plus the one Jivo
/// endpoint a provider calls: the Chat API channel at `/<key>/<public_id>` with its
/// `GET .../status` (a bare `0` or `1`).
///
/// Routes (`<key>` is --jivochat-key):
/// | route | answer |
/// | --- | --- |
/// | GET /<key>/{public_id}/status | 200 text/plain `1` or `0`; 404 text/plain for an unknown
/// channel | | POST /<key>/{public_id} | a client event for the channel: 200 empty on JSON, 400
/// text/plain otherwise | | GET /_admin/jivochat/catalogue | the catalogue (`?bodies=1` with
/// bodies) | | GET /_admin/jivochat/generated?count=N&seed=S | what "generated" sends | | POST
/// /_admin/jivochat/jobs | starts a job; 201 with its id | | GET /_admin/jivochat/jobs | every
/// job's summary | | GET /_admin/jivochat/jobs/{id} | a job's status (`?deliveries=0`, `?bodies=1`)
/// | | POST /_admin/jivochat/jobs/{id}/cancel | cancels a running job | | POST
/// /_admin/jivochat/jobs/clear | forgets the jobs that are not running | | GET
/// /_admin/jivochat/channels | channels and their status | | POST /_admin/jivochat/channels | adds
/// or updates `{"public_id", "status"}` | | POST /_admin/jivochat/channels/{public_id}/status |
/// sets `{"status": 0 or 1}` | | DELETE /_admin/jivochat/channels/{public_id} | removes the channel
/// | | GET /_admin/jivochat/channels/{public_id}/messages | client events the channel received |

namespace chatsync::emulator {

class JivoChatMode final : public Mode {
public:
    /// Throws std::invalid_argument for a bad --jivochat-channel or --jivochat-send.
    explicit JivoChatMode(const ModeContext& context);
    ~JivoChatMode() override;

    std::string_view Name() const override { return "jivochat"; }

    void AddRoutes(Router& router) override;
    void AddStats(boost::json::object& stats) const override;
    void Stop() override;

private:
    struct Channel {
        int status = 1;
        std::vector<std::string> messages;  ///< Bodies POSTed to the channel, oldest first.
    };

    Response Status(const Request& request, const PathParams& params);
    Response ClientEvent(const Request& request, const PathParams& params);

    Response AdminCatalogue(const Request& request, const PathParams& params);
    Response AdminGenerated(const Request& request, const PathParams& params);
    Response AdminStartJob(const Request& request, const PathParams& params);
    Response AdminJobs(const Request& request, const PathParams& params);
    Response AdminJob(const Request& request, const PathParams& params);
    Response AdminCancelJob(const Request& request, const PathParams& params);
    Response AdminClearJobs(const Request& request, const PathParams& params);
    Response AdminChannels(const Request& request, const PathParams& params);
    Response AdminPutChannel(const Request& request, const PathParams& params);
    Response AdminChannelStatus(const Request& request, const PathParams& params);
    Response AdminDeleteChannel(const Request& request, const PathParams& params);
    Response AdminChannelMessages(const Request& request, const PathParams& params);

    /// Starts a job from a request body (or the start-up flags); throws HttpError(400) for a
    /// bad spec.
    JivoJob& StartJob(const boost::json::object& body);
    boost::json::object ChannelJson(const std::string& public_id, const Request* request) const;

    Executor executor_;
    const Options& options_;
    std::map<std::string, Channel> channels_;
    std::int64_t client_events_ = 0;
    std::int64_t next_job_ = 1;
    bool stopping_ = false;
    // Last: running jobs call back into nothing else, but they must be cancelled (Stop) and
    // finished before the mode goes away.
    std::map<std::int64_t, std::unique_ptr<JivoJob>> jobs_;
};

std::unique_ptr<Mode> CreateJivoChatMode(const ModeContext& context);

}  // namespace chatsync::emulator
