// The JivoChat generator: seeded streams of realistic events, many chats interleaved.
#include <array>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "emulator/frame/json_writer.hpp"
#include "emulator/frame/rng.hpp"
#include "emulator/jivochat/events.hpp"
#include "emulator/jivochat/examples.hpp"

namespace chatsync::emulator {
namespace {

namespace json = boost::json;

struct Agent {
    std::int64_t id;
    std::string_view name;
    std::string_view email;
    std::string_view phone;  ///< "" when the agent has none (the field is optional).
};

constexpr std::array<Agent, 4> kAgents{{
    {2016, "Thomas Anderson", "agent@jivosite.com", "+14083682346"},
    {3599, "Анна Петрова", "anna@jivosite.com", "+79581003291"},
    {1, "Agent", "agent1@gmail.com", ""},
    {3, "Zoë O'Brien", "agent3@gmail.com", "+442071838750"},
}};

// Mixed scripts, quotes and emoji, so that encoding bugs in a receiver show up as wrong rows.
constexpr std::array<std::string_view, 10> kVisitors{
    "John Smith",
    "Мария Иванова",
    "José García",
    "李雷",
    "Zoë Müller",
    "Siobhán O'Neil",
    "محمد علي",
    "Jürgen \"Jay\" Weiß",
    "Nguyễn Văn An",
    "Kai 🚀"};

constexpr std::array<std::string_view, 8> kVisitorLines{
    "Здравствуйте! Есть вопрос",
    "Hi, is the order #1234 shipped?",
    "Can I pay by card?",
    "Спасибо 🙏",
    "Line one\nLine two",
    "quote \" and back\\slash",
    "¿Tienen envío a Madrid?",
    "👍"};

constexpr std::array<std::string_view, 6> kAgentLines{
    "Hello! How can I help?",
    "Добрый день! Чем могу помочь?",
    "Let me check that for you.",
    "Yes, we ship tomorrow.",
    "Anything else?",
    "Have a nice day 🙂"};

struct City {
    std::string_view region_code;
    std::string_view country;
    std::string_view country_code;
    std::string_view region;
    std::string_view city;
    std::string_view latitude;
    std::string_view longitude;
};

constexpr std::array<City, 4> kCities{{
    {"CA", "United States", "US", "California", "San Francisco", "37.7898", "-122.3942"},
    {"MOW", "Russia", "RU", "Moscow", "Moscow", "55.7522", "37.6156"},
    {"BE", "Germany", "DE", "Land Berlin", "Berlin", "52.5244", "13.4105"},
    {"", "Brazil", "BR", "São Paulo", "São Paulo", "-23.5475", "-46.6361"},
}};

constexpr std::array<std::string_view, 2> kWidgets{"3948", "12345678"};
constexpr std::array<std::string_view, 3> kUnknownNames{
    "chat_transferred",
    "visitor_banned",
    "agent_status_changed"};

constexpr std::int64_t kBaseTime = 1'700'000'000;  // 2023-11-14T22:13:20Z

/// One generated event before it gets its id.
struct Draft {
    std::string name;
    JivoKind kind = JivoKind::kWebhook;
    json::object body;
};

/// Builds events for one seed; every id-like counter is derived from the seed, so two seeds
/// rarely produce the same chat, client or CRM ids.
class Generator final {
public:
    explicit Generator(std::uint64_t seed)
        : rng_(seed)
        , base_(1'000'000 * static_cast<std::int64_t>(1 + seed % 1000)) {}

    /// The events of one scenario, in causal order.
    std::deque<Draft> Story() {
        const std::size_t pick = rng_.Below(100);
        if (pick < 60) {
            return Chat();
        }
        if (pick < 70) {
            return {Offline()};
        }
        if (pick < 82) {
            return Client();
        }
        if (pick < 95) {
            return {Crm()};
        }
        return {Unknown()};
    }

private:
    struct Visitor {
        std::int64_t number;
        std::string name;
        std::string email;
        std::string phone;
        std::int64_t chats_count;
    };

    Visitor NewVisitor() {
        const std::int64_t number = base_ + static_cast<std::int64_t>(++visitors_);
        const std::string_view name = kVisitors[rng_.Below(kVisitors.size())];
        return Visitor{
            .number = number,
            .name = std::string(name),
            .email = rng_.Chance(70) ? "visitor" + std::to_string(number) + "@example.com" : "",
            .phone = rng_.Chance(50) ? "+1408" + std::to_string(1000000 + number % 9000000) : "",
            .chats_count = rng_.Between(1, 9),
        };
    }

    /// `number` as the doc prints it: a string in chat events, a number in client_updated;
    /// one event in ten has the other type.
    json::value Number(std::int64_t number, bool as_string) {
        if (rng_.Chance(10)) {
            as_string = !as_string;
        }
        return as_string ? json::value(std::to_string(number)) : json::value(number);
    }

    json::object VisitorJson(const Visitor& v, bool number_as_string, bool social) {
        json::object out;
        if (!v.name.empty()) {
            out["name"] = v.name;
        }
        if (!v.email.empty()) {
            out["email"] = v.email;
        }
        if (!v.phone.empty()) {
            out["phone"] = v.phone;
        }
        out["description"] = rng_.Chance(30) ? "Returning customer" : "";
        out["number"] = Number(v.number, number_as_string);
        if (social) {
            out["social"] = json::object{};
        }
        out["chats_count"] = v.chats_count;
        return out;
    }

    /// agent.id is a string in the examples; one in ten is a number.
    json::object AgentJson(const Agent& a) {
        json::object out;
        out["id"] = rng_.Chance(10) ? json::value(a.id) : json::value(std::to_string(a.id));
        out["name"] = a.name;
        out["email"] = a.email;
        if (!a.phone.empty()) {
            out["phone"] = a.phone;
        }
        return out;
    }

    json::object SessionJson(const City& c, std::int64_t n) {
        json::object geoip;
        geoip["region_code"] = c.region_code;
        geoip["country"] = c.country;
        geoip["country_code"] = c.country_code;
        geoip["region"] = c.region;
        geoip["city"] = c.city;
        geoip["latitude"] = c.latitude;
        geoip["longitude"] = c.longitude;
        geoip["organization"] = "Example ISP";
        json::object session;
        session["geoip"] = std::move(geoip);
        const bool utm = rng_.Chance(50);
        session["utm"] = utm ? "source=google|medium=cpc|campaign=spring" : "";
        session["utm_json"] =
            utm ? json::object{{"source", "google"}, {"medium", "cpc"}, {"campaign", "spring"}}
                : json::object{};
        session["ip_addr"] = "203.0.113." + std::to_string(n % 250 + 1);
        session["user_agent"] =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Safari/537.36";
        return session;
    }

    /// The fields chat_accepted, chat_updated and chat_assigned share.
    json::object ChatEvent(
        std::string_view name,
        std::int64_t chat_id,
        std::string_view widget,
        const json::value& user_token,
        const Visitor& visitor,
        const Agent& agent,
        const json::value& assigned,
        const json::object& session,
        const json::object& page
    ) {
        json::object out;
        out["event_name"] = name;
        out["widget_id"] = widget;
        out["user_token"] = user_token;
        out["visitor"] = VisitorJson(visitor, true, name != "chat_updated");
        out["organization"] = rng_.Chance(30)
                                  ? json::value(json::object{{"id", "1"}, {"name", "Company name"}})
                                  : json::value(nullptr);
        out["status"] = rng_.Chance(30)
                            ? json::value(json::object{{"id", "4"}, {"title", "contact_later"}})
                            : json::value(nullptr);
        out["assigned_agent"] = assigned;
        out["tags"] = rng_.Chance(40)
                          ? json::array{json::object{{"id", "17"}, {"title", "Tag example"}}}
                          : json::array{};
        out["chat_id"] = chat_id;
        out["topic"] = json::object{{"topic_id", 3}, {"title", "Topic_1"}, {"parent_id", 1}};
        if (rng_.Chance(60)) {
            out["department"] = json::object{{"id", 281}, {"name", "Sales"}};
        }
        out["session"] = session;
        out["page"] = page;
        out["analytics"] = json::object{};
        out["agent"] = AgentJson(agent);
        return out;
    }

    std::deque<Draft> Chat() {
        const std::int64_t chat_id = base_ + static_cast<std::int64_t>(++chats_);
        const std::string_view widget = kWidgets[rng_.Below(kWidgets.size())];
        Visitor visitor = NewVisitor();
        const Agent& agent = kAgents[rng_.Below(kAgents.size())];
        const json::value user_token = rng_.Chance(30)
                                           ? json::value("user-" + std::to_string(visitor.number))
                                           : json::value(nullptr);
        json::value assigned = nullptr;
        if (rng_.Chance(40)) {
            const Agent& a = kAgents[rng_.Below(kAgents.size())];
            assigned = json::object{{"id", a.id}, {"email", a.email}, {"name", a.name}};
        }
        const City& city = kCities[rng_.Below(kCities.size())];
        const json::object session = SessionJson(city, chat_id);
        const json::object page{
            {"url", "https://shop.example.com/item/" + std::to_string(chat_id % 97)},
            {"title", "Item page"}};
        std::deque<Draft> story;
        const auto add = [&story](std::string_view name, json::object body) {
            story.push_back(Draft{std::string(name), JivoKind::kWebhook, std::move(body)});
        };
        add("chat_accepted",
            ChatEvent(
                "chat_accepted",
                chat_id,
                widget,
                user_token,
                visitor,
                agent,
                assigned,
                session,
                page
            ));
        if (rng_.Chance(50)) {
            if (visitor.email.empty()) {
                visitor.email = "visitor" + std::to_string(visitor.number) + "@example.org";
            } else {
                visitor.phone = "+7958" + std::to_string(1000000 + visitor.number % 9000000);
            }
            add("chat_updated",
                ChatEvent(
                    "chat_updated",
                    chat_id,
                    widget,
                    user_token,
                    visitor,
                    agent,
                    assigned,
                    session,
                    page
                ));
        }
        if (rng_.Chance(20)) {
            add("chat_assigned",
                ChatEvent(
                    "chat_assigned",
                    chat_id,
                    widget,
                    user_token,
                    visitor,
                    agent,
                    assigned,
                    session,
                    page
                ));
        }
        if (rng_.Chance(15)) {
            for (const std::string_view status : {"start", "end"}) {
                json::object call;
                call["event_name"] = "call_event";
                call["chat_id"] = chat_id;
                call["widget_id"] = widget;
                call["visitor"] = VisitorJson(visitor, true, true);
                call["agent"] = AgentJson(agent);
                call["session"] = session;
                call["page"] = page;
                json::object c{{"type", "callback"}, {"phone", "+14084987855"}, {"status", status}};
                if (status == "end") {
                    c["record_url"] =
                        "https://records.example.com/" + std::to_string(chat_id) + ".mp3";
                }
                call["call"] = std::move(c);
                call["analytics"] = json::object{};
                add("call_event", std::move(call));
            }
        }
        json::object finished;
        finished["event_name"] = "chat_finished";
        finished["widget_id"] = widget;
        finished["user_token"] = user_token;
        finished["visitor"] = VisitorJson(visitor, true, false);
        finished["organization"] = nullptr;
        finished["status"] = nullptr;
        finished["assigned_agent"] = assigned;
        finished["tags"] = json::array{};
        finished["chat_id"] = chat_id;
        finished["topic"] = json::object{{"topic_id", 3}, {"title", "Topic_1"}, {"parent_id", 1}};
        finished["session"] = session;
        finished["page"] = page;
        finished["analytics"] = nullptr;
        finished["agents"] = json::array{AgentJson(agent)};
        json::array messages;
        const std::int64_t start = kBaseTime + static_cast<std::int64_t>(chats_) * 600;
        const std::int64_t count = rng_.Between(1, 8);
        for (std::int64_t i = 0; i < count; ++i) {
            json::object m;
            const bool from_agent = i % 2 == 1;
            m["message"] = from_agent ? kAgentLines[rng_.Below(kAgentLines.size())]
                                      : kVisitorLines[rng_.Below(kVisitorLines.size())];
            m["timestamp"] = start + i * 7 + rng_.Between(0, 5);
            m["type"] = from_agent ? "agent" : "visitor";
            if (from_agent) {
                m["agent_id"] = agent.id;
            }
            messages.push_back(std::move(m));
        }
        json::object chat;
        chat["messages"] = std::move(messages);
        chat["blacklisted"] = rng_.Chance(5);
        static constexpr std::array<std::string_view, 3> kRates{"good", "bad", ""};
        const std::string_view rate = kRates[rng_.Below(kRates.size())];
        chat["rate"] = rate.empty() ? json::value(nullptr) : json::value(rate);
        finished["chat"] = std::move(chat);
        finished["plain_messages"] = "";
        finished["html_messages"] = "";
        add("chat_finished", std::move(finished));
        return story;
    }

    Draft Offline() {
        const std::int64_t chat_id = base_ + static_cast<std::int64_t>(++chats_);
        const Visitor visitor = NewVisitor();
        json::object out;
        out["event_name"] = "offline_message";
        out["widget_id"] = kWidgets[rng_.Below(kWidgets.size())];
        out["user_token"] = nullptr;
        out["visitor"] = VisitorJson(visitor, true, false);
        out["organization"] = nullptr;
        out["status"] = nullptr;
        out["assigned_agent"] = nullptr;
        out["tags"] = json::array{};
        out["chat_id"] = chat_id;
        out["session"] = SessionJson(kCities[rng_.Below(kCities.size())], chat_id);
        out["page"] = json::object{{"url", "https://shop.example.com/contact"}};
        out["analytics"] = json::object{};
        out["message"] = kVisitorLines[rng_.Below(kVisitorLines.size())];
        // Milliseconds, like the doc's 1665399500726; the counter keeps them unique.
        out["offline_message_id"] = (kBaseTime + static_cast<std::int64_t>(chats_) * 600) * 1000 +
                                    static_cast<std::int64_t>(++offline_ % 1000);
        return Draft{"offline_message", JivoKind::kWebhook, std::move(out)};
    }

    std::deque<Draft> Client() {
        const Visitor visitor = NewVisitor();
        const Agent& agent = kAgents[rng_.Below(kAgents.size())];
        json::object updated;
        updated["event_name"] = "client_updated";
        updated["widget_id"] = kWidgets[rng_.Below(kWidgets.size())];
        updated["user_token"] = nullptr;
        updated["visitor"] = VisitorJson(visitor, false, false);
        updated["organization"] = json::object{{"id", "1"}, {"name", "Company name"}};
        updated["status"] = json::object{{"id", "4"}, {"title", "contact_later"}};
        updated["assigned_agent"] =
            json::object{{"id", agent.id}, {"email", agent.email}, {"name", agent.name}};
        updated["tags"] = json::array{json::object{{"id", "17"}, {"title", "Sales"}}};
        // A string here and a number in client_attribute_updated, as in the doc.
        updated["client_id"] = Number(visitor.number, true);
        std::deque<Draft> story;
        story.push_back(Draft{"client_updated", JivoKind::kWebhook, std::move(updated)});
        if (rng_.Chance(50)) {
            json::object attributes;
            attributes["updated_at"] = kBaseTime + static_cast<std::int64_t>(visitors_);
            attributes["plan"] = rng_.Chance(50) ? "pro" : "free";
            attributes["orders"] = rng_.Between(0, 40);
            json::object out;
            out["event_name"] = "client_attribute_updated";
            out["widget_id"] = kWidgets[0];
            out["user_token"] = nullptr;
            out["client_id"] = Number(visitor.number, false);
            out["attributes"] = std::move(attributes);
            story.push_back(Draft{"client_attribute_updated", JivoKind::kWebhook, std::move(out)});
        }
        return story;
    }

    Draft Crm() {
        static constexpr std::array<std::string_view, 7> kNames{
            "created_deal",
            "updated_deal",
            "created_task",
            "completed_task",
            "updated_client",
            "assigned_status",
            "created_client_tag"};
        const std::string_view name = kNames[rng_.Below(kNames.size())];
        // Every name above is a catalogue id.
        const auto it = jivochat::FindCrmExample(name);
        if (!it) {
            throw std::logic_error("no JivoChat CRM example " + std::string(name));
        }
        json::object out;
        out["event_type"] = it->event_type;
        out["event_name"] = name;
        const json::value fields = json::parse(it->fields);
        for (const auto& member : fields.as_object()) {
            out[member.key()] = member.value();
        }
        const std::int64_t n = base_ + static_cast<std::int64_t>(++crm_);
        const std::int64_t client = base_ + static_cast<std::int64_t>(visitors_ + 1);
        const std::int64_t ts = kBaseTime + static_cast<std::int64_t>(crm_) * 60;
        if (it->event_type == "crm_deal") {
            out["deal_id"] = n;
            out["client"] = json::object{{"client_id", client}};
            out["amount"] = rng_.Chance(50) ? json::value(rng_.Between(100, 99999)) : nullptr;
            out["created_ts"] = ts;
        } else if (it->event_type == "crm_task") {
            out["task_id"] = n;
            out["client"] = json::object{{"client_id", client}};
            out["created_ts"] = ts;
            out["updated_ts"] = ts + 20;
            out["notify_ts"] = ts + 3600;
        } else if (it->event_type == "crm_client") {
            out["client_id"] = n;
            out["name"] = kVisitors[rng_.Below(kVisitors.size())];
        } else if (name == "assigned_status") {
            out["client"].as_object()["client_id"] = n;
        } else {
            out["tag_id"] = n;
            out["title"] = "tag-" + std::to_string(n);
        }
        return Draft{std::string(name), JivoKind::kCrm, std::move(out)};
    }

    Draft Unknown() {
        const std::string_view name = kUnknownNames[rng_.Below(kUnknownNames.size())];
        json::object out;
        out["event_name"] = name;
        out["widget_id"] = kWidgets[0];
        out["chat_id"] = base_ + static_cast<std::int64_t>(++chats_);
        out["agent"] = AgentJson(kAgents[rng_.Below(kAgents.size())]);
        out["timestamp"] = kBaseTime + static_cast<std::int64_t>(chats_) * 600;
        return Draft{std::string(name), JivoKind::kWebhook, std::move(out)};
    }

    Rng rng_;
    std::int64_t base_;
    std::uint64_t chats_ = 0;
    std::uint64_t visitors_ = 0;
    std::uint64_t crm_ = 0;
    std::uint64_t offline_ = 0;
};

}  // namespace

std::vector<JivoEvent> GenerateJivoEvents(std::int64_t count, std::uint64_t seed) {
    std::vector<JivoEvent> out;
    if (count <= 0) {
        return out;
    }
    out.reserve(static_cast<std::size_t>(count));
    Generator generator(seed);
    // A second stream decides the interleaving, so that the stories do not depend on it.
    Rng interleave(seed ^ 0x6A09E667F3BCC909ULL);
    std::vector<std::deque<Draft>> open;
    while (static_cast<std::int64_t>(out.size()) < count) {
        // Between one and four conversations run at once.
        const std::size_t want = 1 + interleave.Below(4);
        while (open.size() < want) {
            open.push_back(generator.Story());
        }
        const std::size_t pick = interleave.Below(open.size());
        Draft draft = std::move(open[pick].front());
        open[pick].pop_front();
        if (open[pick].empty()) {
            open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
        }
        JivoEvent e;
        e.id = "gen-" + std::to_string(seed) + "-" + std::to_string(out.size());
        e.name = std::move(draft.name);
        e.kind = draft.kind;
        e.body = ToJsonText(draft.body);
        e.source = "generated";
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace chatsync::emulator
