#include "emulator/jivochat/events.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {
namespace {

namespace json = boost::json;

// --- Webhooks API examples (JR-WH https://www.jivo.ru/docs/webhooks/, whitespace compacted) ---

/// Shared parts of the examples, spliced in where a template says @NAME@.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kPieces{{
    {"@TOPIC@", R"({"topic_id":3,"title":"Topic_1","parent_id":1})"},
    {"@PAGE@", R"({"url":"http://example.com/","title":"Page title"})"},
    {"@SESSION@",
     R"({"geoip":{"region_code":"CA","country":"United States","country_code":"US",)"
     R"("region":"California","city":"San Francisco","latitude":"37.7898",)"
     R"("longitude":"-122.3942","organization":"Wikimedia Foundation"},)"
     R"("utm":"source=google|medium=cpc|content=banner|campaign=campaign_name",)"
     R"("utm_json":{"source":"google","campaign":"campaign_name","content":"banner",)"
     R"("medium":"cpc","term":"..."},"ip_addr":"208.80.152.201",)"
     R"("user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/537.36 )"
     R"((KHTML, like Gecko) Chrome/54.0.2840.71 Safari/537.36"})"},
    {"@CALL_VISITOR@",
     R"({"name":"John Smith","email":"email@example.com","phone":"+14084987855",)"
     R"("number":"2746","description":"Description text","social":{},"chats_count":8})"},
    {"@AGENT@",
     R"({"id":"2016","name":"Thomas Anderson","email":"agent@jivosite.com",)"
     R"("phone":"+14083682346"})"},
}};

constexpr std::string_view kCallEvent =
    R"({"event_name":"call_event","chat_id":4398,"topic":@TOPIC@)"
    R"(,"widget_id":"2853","visitor":@CALL_VISITOR@)"
    R"(,"agent":{"id":"3599","name":"Thomas Anderson","email":"agent@jivosite.com",)"
    R"("phone":"+14083682346"},"department":{"id":181,"name":"Sales"},"session":)"
    R"(@SESSION@,"page":@PAGE@)"
    R"(,"call":{"type":"callback","phone":"+14084987855","status":"end",)"
    R"("record_url":"http://example.com/record.mp3"},"analytics":{}})";

/// EN-WH prints the same example without `topic`.
constexpr std::string_view kCallEventEn =
    R"({"event_name":"call_event","chat_id":4398,"widget_id":"2853","visitor":)"
    R"(@CALL_VISITOR@)"
    R"(,"agent":{"id":"3599","name":"Thomas Anderson","email":"agent@jivosite.com",)"
    R"("phone":"+14083682346"},"department":{"id":181,"name":"Sales"},"session":)"
    R"(@SESSION@,"page":@PAGE@)"
    R"(,"call":{"type":"callback","phone":"+14084987855","status":"end",)"
    R"("record_url":"http://example.com/record.mp3"},"analytics":{}})";

/// The call table's other values: an incoming call starting, without record_url.
constexpr std::string_view kCallEventStart =
    R"({"event_name":"call_event","chat_id":4399,"widget_id":"2853","visitor":)"
    R"(@CALL_VISITOR@,"agent":@AGENT@,"session":)"
    R"(@SESSION@,"page":@PAGE@)"
    R"(,"call":{"type":"incoming","phone":"+14084987855","status":"start"},"analytics":{}})";

/// status "error" carries `reason` (the call table), and there is no recording.
constexpr std::string_view kCallEventError =
    R"({"event_name":"call_event","chat_id":4400,"widget_id":"2853","visitor":)"
    R"(@CALL_VISITOR@,"agent":@AGENT@,"session":)"
    R"(@SESSION@,"page":@PAGE@)"
    R"(,"call":{"type":"outgoing","phone":"+14084987855","status":"error",)"
    R"("reason":"Client did not answer"}})";

constexpr std::string_view kChatAccepted =
    R"({"event_name":"chat_accepted","widget_id":"3948","user_token":null,)"
    R"("visitor":{"name":"John Smith","email":"email@example.com","phone":"+14084987855",)"
    R"("description":"Description text","number":"2198","social":{},"chats_count":1},)"
    R"("organization":{"id":"1","name":"Company name"},)"
    R"("status":{"id":"4","title":"contact_later"},)"
    R"("assigned_agent":{"id":1,"email":"agent1@gmail.com","name":"Agent"},)"
    R"("tags":[{"id":"17","title":"Tag example"}],"chat_id":7636,"topic":@TOPIC@)"
    R"(,"department":{"id":281,"name":"Sales"},"session":@SESSION@)"
    R"(,"page":@PAGE@,"analytics":{},"agent":@AGENT@})";

/// A visitor the site named with setUserToken, in a chat without a department (optional).
constexpr std::string_view kChatAcceptedUserToken =
    R"({"event_name":"chat_accepted","widget_id":"3948","user_token":"user-7f3a9c",)"
    R"("visitor":{"name":"Мария Иванова","email":"maria@example.com","phone":"+79581003291",)"
    R"("description":"","number":"2199","social":{},"chats_count":3},)"
    R"("organization":null,"status":null,"assigned_agent":null,"tags":[],"chat_id":7637,)"
    R"("topic":@TOPIC@,"session":@SESSION@)"
    R"(,"page":@PAGE@,"analytics":{},"agent":@AGENT@})";

constexpr std::string_view kChatUpdated =
    R"({"event_name":"chat_updated","widget_id":"3948","user_token":null,)"
    R"("visitor":{"name":"John Smith","email":"email@example.com","phone":"+14084987855",)"
    R"("description":"Description text","number":"2198","chats_count":1},)"
    R"("organization":{"id":"2","name":"Company name"},)"
    R"("status":{"id":"4","title":"contact_later"},"assigned_agent":null,)"
    R"("tags":[{"id":"7","title":"Discount"}],"chat_id":7507,"topic":@TOPIC@)"
    R"(,"department":{"id":281,"name":"Sales"},"session":@SESSION@)"
    R"(,"page":@PAGE@,"analytics":{},"agent":@AGENT@})";

/// Legacy, payload undocumented: the chat_accepted shape under the legacy name.
constexpr std::string_view kChatAssigned =
    R"({"event_name":"chat_assigned","widget_id":"3948","user_token":null,)"
    R"("visitor":{"name":"John Smith","email":"email@example.com","phone":"+14084987855",)"
    R"("description":"Description text","number":"2198","social":{},"chats_count":1},)"
    R"("organization":{"id":"1","name":"Company name"},)"
    R"("status":{"id":"4","title":"contact_later"},)"
    R"("assigned_agent":{"id":1,"email":"agent1@gmail.com","name":"Agent"},)"
    R"("tags":[{"id":"17","title":"Tag example"}],"chat_id":7636,"topic":@TOPIC@)"
    R"(,"department":{"id":281,"name":"Sales"},"session":@SESSION@)"
    R"(,"page":@PAGE@,"analytics":{},"agent":@AGENT@})";

constexpr std::string_view kClientUpdated =
    R"({"event_name":"client_updated","widget_id":"12345678","user_token":null,)"
    R"("visitor":{"name":"Thomas","email":"thomas@gmail.com","phone":"+458745457845",)"
    R"("description":"Description text","number":1217,"chats_count":1},)"
    R"("organization":{"id":"1","name":"Company name"},)"
    R"("status":{"id":"4","title":"contact_later"},)"
    R"("assigned_agent":{"id":3,"email":"agent3@gmail.com","name":"Agent3"},)"
    R"("tags":[{"id":"17","title":"Sales"}],"client_id":"1217"})";

/// What the non-JSON doc example most likely is: `attributes` as an object.
constexpr std::string_view kClientAttributeUpdated =
    R"({"event_name":"client_attribute_updated","widget_id":"12345678","user_token":null,)"
    R"("client_id":1217,"attributes":{"some_number_attribute_name":1234,)"
    R"("some_string_attribute_name":"Some string"}})";

constexpr std::string_view kChatFinished =
    R"({"event_name":"chat_finished","widget_id":"3948",)"
    R"("visitor":{"name":"John Smith","email":"email@example.com","phone":"+14084987855",)"
    R"("description":"Description text","number":"2198","chats_count":2},)"
    R"("organization":null,"status":null,"assigned_agent":null,"tags":[],"chat_id":7607,)"
    R"("topic":@TOPIC@,"session":@SESSION@)"
    R"(,"page":@PAGE@)"
    R"(,"analytics":null,"agents":[{"id":"1","name":"Thomas Anderson",)"
    R"("email":"agent@jivosite.com","phone":"+14083682346"}],)"
    R"("chat":{"messages":[{"message":"<Message text is not displayed here>",)"
    R"("timestamp":1665396476,"type":"visitor"},)"
    R"({"message":"<Message text is not displayed here>","timestamp":1665396483,)"
    R"("type":"agent","agent_id":1}],"blacklisted":false,"rate":null},)"
    R"("plain_messages":"","html_messages":""})";

/// The optional chat fields set: user_token (the prose says it is sent), rate, invitation,
/// a blacklisted visitor, and transcripts in plain_messages / html_messages.
constexpr std::string_view kChatFinishedRated =
    R"({"event_name":"chat_finished","widget_id":"3948","user_token":"user-7f3a9c",)"
    R"("visitor":{"name":"Мария Иванова","email":"maria@example.com","phone":"+79581003291",)"
    R"("description":"","number":"2199","chats_count":3},)"
    R"("organization":null,"status":null,"assigned_agent":null,"tags":[],"chat_id":7637,)"
    R"("topic":@TOPIC@,"session":@SESSION@)"
    R"(,"page":@PAGE@)"
    R"(,"analytics":{},"agents":[{"id":"2016","name":"Thomas Anderson",)"
    R"("email":"agent@jivosite.com","phone":"+14083682346"}],)"
    R"("chat":{"messages":[{"message":"Здравствуйте! Есть вопрос 🙂","timestamp":1665400001,)"
    R"("type":"visitor"},{"message":"Hello, \"how\" can I help?\nAsk away.",)"
    R"("timestamp":1665400009,"type":"agent","agent_id":2016},)"
    R"({"message":"Спасибо","timestamp":1665400030,"type":"visitor"}],)"
    R"("blacklisted":true,"rate":"good","invitation":"Hello! Can I help you?"},)"
    R"("plain_messages":"Мария Иванова: Здравствуйте! Есть вопрос 🙂\n",)"
    R"("html_messages":"<p>Мария Иванова: Здравствуйте! Есть вопрос 🙂</p>"})";

constexpr std::string_view kOfflineMessage =
    R"({"event_name":"offline_message","widget_id":"3948","user_token":null,)"
    R"("visitor":{"name":"John Smith","email":"email@example.com","phone":"+14084987855",)"
    R"("description":"Description text","number":"2198","chats_count":1},)"
    R"("organization":null,"status":null,"assigned_agent":null,"tags":[],"chat_id":2026,)"
    R"("topic":@TOPIC@,"session":@SESSION@)"
    R"(,"page":@PAGE@)"
    R"(,"analytics":{},"message":"Message text","offline_message_id":1665399500726})";

constexpr std::string_view kUnknownEventName =
    R"({"event_name":"future_event","widget_id":"3948","user_token":null,"chat_id":7636,)"
    R"("visitor":{"name":"John Smith","number":"2198","chats_count":1},)"
    R"("agent":@AGENT@})";

constexpr std::string_view kNoEventName =
    R"({"widget_id":"3948","user_token":null,"chat_id":7636})";

// --- The doc's examples that are not JSON, byte for byte (JR-WH) ------------------------------
// client_attribute_updated prints `attributes` as an array of key: value pairs with "...", and
// every CRM example wraps the object in an extra `{ }` (some also list alternative event
// names separated by "/"). A receiver gets exactly these bytes.

constexpr std::string_view kDocClientAttributeUpdated =
    "{\n"
    "  \"event_name\": \"client_attribute_updated\",\n"
    "  \"widget_id\": \"12345678\",\n"
    "  \"user_token\": null,\n"
    "  \"client_id\": 1217,\n"
    "  \"attributes\": [\n"
    "    \"some_number_attribute_name\": 1234,\n"
    "    \"some_string_attribute_name\": \"Some string\",\n"
    "    ...\n"
    "    <attribute_name: string>: <attribute_value: mixed>,\n"
    "  ]\n"
    "}";

constexpr std::string_view kDocCreatedPipeline =
    "{\n"
    "\t\t{\n"
    "            \"event_name\": \"created_pipeline\",\n"
    "\t\t\t\"pipeline_id\": 6,\n"
    "\t\t\t\"title\": \"Gruzly\",\n"
    "\t\t\t\"currency\": \"RUB\",\n"
    "\t\t\t\"pipeline_statuses\": [{\n"
    "\t\t\t\t\"pipeline_status_id\": 19,\n"
    "\t\t\t\t\"title\": \"finished\",\n"
    "\t\t\t\t\"position\": 0,\n"
    "\t\t\t\t\"color\": \"0ed16a\",\n"
    "\t\t\t\t\"type\": \"system\",\n"
    "\t\t\t\t\"final_status\": \"successful\"\n"
    "\t\t\t}, {\n"
    "\t\t\t\t\"pipeline_status_id\": 20,\n"
    "\t\t\t\t\"title\": \"unsuccessful\",\n"
    "\t\t\t\t\"position\": 0,\n"
    "\t\t\t\t\"color\": \"76869d\",\n"
    "\t\t\t\t\"type\": \"system\",\n"
    "\t\t\t\t\"final_status\": \"unsuccessful\"\n"
    "\t\t\t}, {\n"
    "\t\t\t\t\"pipeline_status_id\": 21,\n"
    "\t\t\t\t\"title\": \"Новая\",\n"
    "\t\t\t\t\"position\": 1,\n"
    "\t\t\t\t\"color\": \"1fb6fd\",\n"
    "\t\t\t\t\"type\": \"user\",\n"
    "\t\t\t\t\"final_status\": null\n"
    "\t\t\t}],\n"
    "\t\t\t\"pipeline_reject_reasons\": [{\n"
    "\t\t\t\t\"pipeline_reject_reason_id\": 21,\n"
    "\t\t\t\t\"title\": \"Слишком дорого\",\n"
    "\t\t\t\t\"position\": 0\n"
    "\t\t\t}, {\n"
    "\t\t\t\t\"pipeline_reject_reason_id\": 22,\n"
    "\t\t\t\t\"title\": \"Пропала потребность\",\n"
    "\t\t\t\t\"position\": 1\n"
    "\t\t\t}, {\n"
    "\t\t\t\t\"pipeline_reject_reason_id\": 23,\n"
    "\t\t\t\t\"title\": \"Не устроили условия\",\n"
    "\t\t\t\t\"position\": 2\n"
    "\t\t\t}, {\n"
    "\t\t\t\t\"pipeline_reject_reason_id\": 24,\n"
    "\t\t\t\t\"title\": \"Выбрали других\",\n"
    "\t\t\t\t\"position\": 3\n"
    "\t\t\t}]\n"
    "\t\t}";

constexpr std::string_view kDocAssignedStatus =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"assigned_status\",\n"
    "\t\t\t\"status\": {\n"
    "\t\t\t\t\"title\": \"unsuccessful\",\n"
    "\t\t\t\t\"color\": \"76869d\",\n"
    "\t\t\t\t\"position\": 3,\n"
    "\t\t\t\t\"status_id\": 5,\n"
    "\t\t\t\t\"new_status_id\": null\n"
    "\t\t\t},\n"
    "\t\t\t\"client\": {\n"
    "\t\t\t\t\"client_id\": 1,\n"
    "\t\t\t\t\"widget\": {\n"
    "\t\t\t\t\t\"widget_id\": 488651\n"
    "\t\t\t\t},\n"
    "\t\t\t\t\"name\": \"John Smith\",\n"
    "\t\t\t\t\"avatar_url\": null,\n"
    "\t\t\t\t\"description\": null,\n"
    "\t\t\t\t\"social\": null,\n"
    "\t\t\t\t\"assigned_agent\": {\n"
    "\t\t\t\t\t\"assigned_agent_id\": null\n"
    "\t\t\t\t},\n"
    "\t\t\t\t\"crm_link\": null,\n"
    "\t\t\t\t\"chats_count\": 0,\n"
    "\t\t\t\t\"visits_count\": 0,\n"
    "\t\t\t\t\"custom_data\": null,\n"
    "\t\t\t\t\"status\": {\n"
    "\t\t\t\t\t\"title\": \"unsuccessful\",\n"
    "\t\t\t\t\t\"color\": \"76869d\",\n"
    "\t\t\t\t\t\"position\": 3,\n"
    "\t\t\t\t\t\"status_id\": 5,\n"
    "\t\t\t\t\t\"new_status_id\": null\n"
    "\t\t\t\t},\n"
    "\t\t\t\t\"organization\": null,\n"
    "\t\t\t\t\"tags\": [],\n"
    "\t\t\t\t\"has_deal\": 1,\n"
    "\t\t\t\t\"contacts\": [{\n"
    "\t\t\t\t\t\"contact_type\": \"email\",\n"
    "\t\t\t\t\t\"contact\": \"johnsmith@mail.com\",\n"
    "\t\t\t\t\t\"channel_type\": \"agent_app\"\n"
    "\t\t\t\t}],\n"
    "\t\t\t\t\"blacklist\": null\n"
    "\t\t\t}\n"
    "\t\t}\n"
    "\t}";

constexpr std::string_view kDocStatus =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"created_status\"/\"updated_status\"/\"deleted_status\";\n"
    "\t\t\t\"title\": \"Vno\",\n"
    "\t\t\t\"color\": \"0363f6\",\n"
    "\t\t\t\"position\": 6,\n"
    "\t\t\t\"status_id\": 6,\n"
    "\t\t\t\"new_status_id\": null\n"
    "\t\t}\n"
    "}";

constexpr std::string_view kDocCreatedClientTag =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"created_client_tag\",\n"
    "\t\t\t\"tag_id\": 1,\n"
    "\t\t\t\"title\": \"Test_tag\"\n"
    "\t\t}\n"
    "}";

constexpr std::string_view kDocMergedTag =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"merged_tag\",\n"
    "\t\t\t\"tag\": {\n"
    "\t\t\t\t\"tag_id\": 6,\n"
    "\t\t\t\t\"title\": \"NewOne\"\n"
    "\t\t\t},\n"
    "\t\t\t\"merged_tags\": [{\n"
    "\t\t\t\t\"tag_id\": 9,\n"
    "\t\t\t\t\"title\": \"SecondOne\"\n"
    "\t\t\t}, {\n"
    "\t\t\t\t\"tag_id\": 10,\n"
    "\t\t\t\t\"title\": \"ThirdOne\"\n"
    "\t\t\t}]\n"
    "\t\t}\n"
    "}";

constexpr std::string_view kDocAdministratorOnlyTag =
    " {\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"changed_administrator_only_client_tag\",\n"
    "\t\t\t\"enabled\": 1\n"
    "\t\t}\n"
    "}";

constexpr std::string_view kDocDeal =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"created_deal\"/\"updated_deal\"/\"deleted_deal\",\n"
    "\t\t\t\"deal_id\": 3,\n"
    "\t\t\t\"client\": {\n"
    "\t\t\t\t\"client_id\": 1\n"
    "\t\t\t},\n"
    "\t\t\t\"title\": \"Сделка\",\n"
    "\t\t\t\"text\": \"Описание сделки\",\n"
    "\t\t\t\"amount\": null,\n"
    "\t\t\t\"pipeline\": {\n"
    "\t\t\t\t\"pipeline_id\": 1,\n"
    "\t\t\t\t\"pipeline_status\": {\n"
    "\t\t\t\t\t\"pipeline_status_id\": 1\n"
    "\t\t\t\t},\n"
    "\t\t\t\t\"pipeline_reject_reason\": {\n"
    "\t\t\t\t\t\"pipeline_reject_reason_id\": null\n"
    "\t\t\t\t}\n"
    "\t\t\t},\n"
    "\t\t\t\"assigned_agent\": {\n"
    "\t\t\t\t\"assigned_agent_id\": 1\n"
    "\t\t\t},\n"
    "\t\t\t\"created_ts\": 1677837220,\n"
    "\t\t\t\"closed_ts\": null,\n"
    "\t\t\t\"creator_agent\": {\n"
    "\t\t\t\t\"creator_agent_id\": 1\n"
    "\t\t\t}\n"
    "\t\t}\n"
    "\t}";

constexpr std::string_view kDocTask =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"created_task\"/\"deleted_task\"/\"updated_task\"/\"completed "
    "task\"/\"fired_task\",\n"
    "\t\t\t\"text\": \"Текст задачи\",\n"
    "\t\t\t\"status\": \"active\",\n"
    "\t\t\t\"task_id\": 2,\n"
    "\t\t\t\"agent\": {\n"
    "\t\t\t\t\"agent_id\": 1\n"
    "\t\t\t},\n"
    "\t\t\t\"client\": {\n"
    "\t\t\t\t\"client_id\": 1\n"
    "\t\t\t},\n"
    "\t\t\t\"notify_ts\": 1677838380,\n"
    "\t\t\t\"created_ts\": 1677837822,\n"
    "\t\t\t\"updated_ts\": 1677837842,\n"
    "\t\t\t\"show_notification\": 1,\n"
    "\t\t\t\"creator_agent\": {\n"
    "\t\t\t\t\"creator_agent_id\": 1\n"
    "\t\t\t},\n"
    "\t\t\t\"deal\": {\n"
    "\t\t\t\t\"deal_id\": 3\n"
    "\t\t\t}\n"
    "\t\t}\n"
    "\t}";

constexpr std::string_view kDocCreatedOrganization =
    "{\n"
    "  {\n"
    "    \"event_name\": \n"
    "\t\t\"created_organization\",\n"
    "\t\t\"organization_id\": 3,\n"
    "  }\n"
    "}";

constexpr std::string_view kDocAssignedAgentToClient =
    "{\n"
    "\t\t{\n"
    "\t\t\t\"event_name\": \"assigned_agent_to_client\",\n"
    "\t\t\t\"client_id\": 1,\n"
    "\t\t\t\"widget\": {\n"
    "\t\t\t\t\"widget_id\": 488651\n"
    "\t\t\t},\n"
    "\t\t\t\"name\": \"John Smith\",\n"
    "\t\t\t\"avatar_url\": null,\n"
    "\t\t\t\"description\": null,\n"
    "\t\t\t\"social\": null,\n"
    "\t\t\t\"assigned_agent\": {\n"
    "\t\t\t\t\"assigned_agent_id\": 2\n"
    "\t\t\t},\n"
    "\t\t\t\"crm_link\": null,\n"
    "\t\t\t\"chats_count\": 0,\n"
    "\t\t\t\"visits_count\": 0,\n"
    "\t\t\t\"custom_data\": null,\n"
    "\t\t\t\"status\": {\n"
    "\t\t\t\t\"title\": \"new\",\n"
    "\t\t\t\t\"color\": \"1fb6fd\",\n"
    "\t\t\t\t\"position\": 0,\n"
    "\t\t\t\t\"status_id\": 1,\n"
    "\t\t\t\t\"new_status_id\": null\n"
    "\t\t\t},\n"
    "\t\t\t\"organization\": {\n"
    "\t\t\t\t\"organization_id\": 3,\n"
    "\t\t\t\t\"name\": \"Company\"\n"
    "\t\t\t},\n"
    "\t\t\t\"tags\": [],\n"
    "\t\t\t\"has_deal\": 1,\n"
    "\t\t\t\"contacts\": [{\n"
    "\t\t\t\t\"contact_type\": \"email\",\n"
    "\t\t\t\t\"contact\": \"johnsmith@mail.com\",\n"
    "\t\t\t\t\"channel_type\": \"agent_app\"\n"
    "\t\t\t}],\n"
    "\t\t\t\"blacklist\": {\n"
    "\t\t\t\t\"agent\": {\n"
    "\t\t\t\t\t\"agent_id\": 1\n"
    "\t\t\t\t},\n"
    "\t\t\t\t\"block_datetime_ts\": 1677838504,\n"
    "\t\t\t\t\"unblock_datetime_ts\": 1709460904,\n"
    "\t\t\t\t\"ip_address\": \"109.252.14.36\"\n"
    "\t\t}\n"
    "\t}";

// --- CRM Webhooks as single objects -----------------------------------------------------------
// The prose says the category travels in `event_type` and the action in `event_name`; the
// examples show neither the type nor a single object. These are the examples' fields as one
// object each, with event_type and event_name first.

constexpr std::string_view kCrmPipelineFields =
    R"({"pipeline_id":6,"title":"Gruzly","currency":"RUB","pipeline_statuses":[)"
    R"({"pipeline_status_id":19,"title":"finished","position":0,"color":"0ed16a",)"
    R"("type":"system","final_status":"successful"},)"
    R"({"pipeline_status_id":20,"title":"unsuccessful","position":0,"color":"76869d",)"
    R"("type":"system","final_status":"unsuccessful"},)"
    R"({"pipeline_status_id":21,"title":"Новая","position":1,"color":"1fb6fd","type":"user",)"
    R"("final_status":null}],"pipeline_reject_reasons":[)"
    R"({"pipeline_reject_reason_id":21,"title":"Слишком дорого","position":0},)"
    R"({"pipeline_reject_reason_id":22,"title":"Пропала потребность","position":1},)"
    R"({"pipeline_reject_reason_id":23,"title":"Не устроили условия","position":2},)"
    R"({"pipeline_reject_reason_id":24,"title":"Выбрали других","position":3}]})";

constexpr std::string_view kCrmStatusFields =
    R"({"title":"Vno","color":"0363f6","position":6,"status_id":6,"new_status_id":null})";

constexpr std::string_view kCrmAssignedStatusFields =
    R"({"status":{"title":"unsuccessful","color":"76869d","position":3,"status_id":5,)"
    R"("new_status_id":null},"client":{"client_id":1,"widget":{"widget_id":488651},)"
    R"("name":"John Smith","avatar_url":null,"description":null,"social":null,)"
    R"("assigned_agent":{"assigned_agent_id":null},"crm_link":null,"chats_count":0,)"
    R"("visits_count":0,"custom_data":null,"status":{"title":"unsuccessful",)"
    R"("color":"76869d","position":3,"status_id":5,"new_status_id":null},)"
    R"("organization":null,"tags":[],"has_deal":1,"contacts":[{"contact_type":"email",)"
    R"("contact":"johnsmith@mail.com","channel_type":"agent_app"}],"blacklist":null}})";

constexpr std::string_view kCrmEnabledFields = R"({"enabled":1})";

constexpr std::string_view kCrmTagFields = R"({"tag_id":1,"title":"Test_tag"})";

constexpr std::string_view kCrmMergedTagFields =
    R"({"tag":{"tag_id":6,"title":"NewOne"},"merged_tags":[{"tag_id":9,"title":"SecondOne"},)"
    R"({"tag_id":10,"title":"ThirdOne"}]})";

constexpr std::string_view kCrmDealFields =
    R"({"deal_id":3,"client":{"client_id":1},"title":"Сделка","text":"Описание сделки",)"
    R"("amount":null,"pipeline":{"pipeline_id":1,"pipeline_status":{"pipeline_status_id":1},)"
    R"("pipeline_reject_reason":{"pipeline_reject_reason_id":null}},)"
    R"("assigned_agent":{"assigned_agent_id":1},"created_ts":1677837220,"closed_ts":null,)"
    R"("creator_agent":{"creator_agent_id":1}})";

constexpr std::string_view kCrmTaskFields =
    R"({"text":"Текст задачи","status":"active","task_id":2,"agent":{"agent_id":1},)"
    R"("client":{"client_id":1},"notify_ts":1677838380,"created_ts":1677837822,)"
    R"("updated_ts":1677837842,"show_notification":1,"creator_agent":{"creator_agent_id":1},)"
    R"("deal":{"deal_id":3}})";

constexpr std::string_view kCrmOrganizationFields = R"({"organization_id":3})";

constexpr std::string_view kCrmClientFields =
    R"({"client_id":1,"widget":{"widget_id":488651},"name":"John Smith","avatar_url":null,)"
    R"("description":null,"social":null,"assigned_agent":{"assigned_agent_id":2},)"
    R"("crm_link":null,"chats_count":0,"visits_count":0,"custom_data":null,)"
    R"("status":{"title":"new","color":"1fb6fd","position":0,"status_id":1,)"
    R"("new_status_id":null},"organization":{"organization_id":3,"name":"Company"},)"
    R"("tags":[],"has_deal":1,"contacts":[{"contact_type":"email",)"
    R"("contact":"johnsmith@mail.com","channel_type":"agent_app"}],)"
    R"("blacklist":{"agent":{"agent_id":1},"block_datetime_ts":1677838504,)"
    R"("unblock_datetime_ts":1709460904,"ip_address":"109.252.14.36"}})";

struct CrmEvent {
    std::string_view id;          ///< Catalogue id after "crm.".
    std::string_view event_type;  ///< Category.
    std::string_view event_name;  ///< As sent.
    std::string_view fields;      ///< The rest of the object.
};

// Every event_name the CRM tables list, plus the doc's other spellings of three of them.
constexpr std::array<CrmEvent, 33> kCrmEvents{{
    {"created_pipeline", "crm_pipeline", "created_pipeline", kCrmPipelineFields},
    {"updated_pipeline", "crm_pipeline", "updated_pipeline", kCrmPipelineFields},
    {"deleted_pipeline", "crm_pipeline", "deleted_pipeline", kCrmPipelineFields},
    {"created_status", "crm_status", "created_status", kCrmStatusFields},
    {"updated_status", "crm_status", "updated_status", kCrmStatusFields},
    {"deleted_status", "crm_status", "deleted_status", kCrmStatusFields},
    {"reordered_status", "crm_status", "reordered_status", kCrmStatusFields},
    {"assigned_status", "crm_status", "assigned_status", kCrmAssignedStatusFields},
    {"changed_require_update_of_status",
     "crm_status",
     "changed_require_update_of_status",
     kCrmEnabledFields},
    {"created_client_tag", "crm_client_tag", "created_client_tag", kCrmTagFields},
    // The doc's list spells it with a Cyrillic "с" (U+0441).
    {"created_client_tag.cyrillic", "crm_client_tag", "\xD1\x81reated_client_tag", kCrmTagFields},
    {"updated_client_tag", "crm_client_tag", "updated_client_tag", kCrmTagFields},
    {"deleted_client_tag", "crm_client_tag", "deleted_client_tag", kCrmTagFields},
    {"merged_client_tag", "crm_client_tag", "merged_client_tag", kCrmMergedTagFields},
    // The doc's example names it merged_tag.
    {"merged_tag", "crm_client_tag", "merged_tag", kCrmMergedTagFields},
    {"changed_administrator_only_client_tag",
     "crm_client_tag",
     "changed_administrator_only_client_tag",
     kCrmEnabledFields},
    {"created_deal", "crm_deal", "created_deal", kCrmDealFields},
    {"updated_deal", "crm_deal", "updated_deal", kCrmDealFields},
    {"deleted_deal", "crm_deal", "deleted_deal", kCrmDealFields},
    {"created_task", "crm_task", "created_task", kCrmTaskFields},
    {"deleted_task", "crm_task", "deleted_task", kCrmTaskFields},
    {"updated_task", "crm_task", "updated_task", kCrmTaskFields},
    {"completed_task", "crm_task", "completed_task", kCrmTaskFields},
    // The doc's example lists it as "completed task".
    {"completed_task.space", "crm_task", "completed task", kCrmTaskFields},
    {"fired_task", "crm_task", "fired_task", kCrmTaskFields},
    {"created_organization", "crm_organization", "created_organization", kCrmOrganizationFields},
    {"assigned_agent_to_client", "crm_client", "assigned_agent_to_client", kCrmClientFields},
    {"created_client", "crm_client", "created_client", kCrmClientFields},
    {"deleted_client", "crm_client", "deleted_client", kCrmClientFields},
    {"updated_client", "crm_client", "updated_client", kCrmClientFields},
    {"changed_client_company", "crm_client", "changed_client_company", kCrmClientFields},
    {"changed_client_blacklist", "crm_client", "changed_client_blacklist", kCrmClientFields},
    {"updated_client_contacts", "crm_client", "updated_client_contacts", kCrmClientFields},
}};

struct DocCrmExample {
    std::string_view id;    ///< Catalogue id after "crm." (before ".doc").
    std::string_view name;  ///< The first event_name in the text.
    std::string_view text;
};

constexpr std::array<DocCrmExample, 10> kDocCrmExamples{{
    {"created_pipeline", "created_pipeline", kDocCreatedPipeline},
    {"assigned_status", "assigned_status", kDocAssignedStatus},
    {"status", "created_status", kDocStatus},
    {"created_client_tag", "created_client_tag", kDocCreatedClientTag},
    {"merged_tag", "merged_tag", kDocMergedTag},
    {"changed_administrator_only_client_tag",
     "changed_administrator_only_client_tag",
     kDocAdministratorOnlyTag},
    {"deal", "created_deal", kDocDeal},
    {"task", "created_task", kDocTask},
    {"created_organization", "created_organization", kDocCreatedOrganization},
    {"assigned_agent_to_client", "assigned_agent_to_client", kDocAssignedAgentToClient},
}};

// --- Chat API and Bot API ---------------------------------------------------------------------

// Agent -> provider events of a custom channel. The doc could not retrieve their body; this is
// the client -> Jivo envelope (`sender`, `message`) with `recipient` naming the client, as the
// public clients model it.
constexpr std::string_view kChatApiText =
    R"({"sender":{"id":"2016","name":"Thomas Anderson","email":"agent@jivosite.com"},)"
    R"("recipient":{"id":"1987654321324234"},)"
    R"("message":{"type":"text","id":"agent-0001","text":"Добрый день! How can I help?"}})";

constexpr std::string_view kChatApiPhoto =
    R"({"sender":{"id":"2016","name":"Thomas Anderson"},"recipient":{"id":"1987654321324234"},)"
    R"("message":{"type":"photo","id":"agent-0002","file":"https://example.com/photo.jpg",)"
    R"("file_name":"photo.jpg"}})";

constexpr std::string_view kChatApiDocument =
    R"({"sender":{"id":"2016","name":"Thomas Anderson"},"recipient":{"id":"1987654321324234"},)"
    R"("message":{"type":"document","id":"agent-0003","file":"https://example.com/offer.pdf",)"
    R"("file_name":"offer.pdf"}})";

/// EN-BOT, verbatim (whitespace compacted).
constexpr std::string_view kBotClientMessage =
    R"({"id":"9661ab9c-48b0-11ed-a3d6-859398ff9bd9","site_id":"123456","client_id":"1233",)"
    R"("chat_id":"2037","agents_online":true,"sender":{"id":1233,"name":"John Smith",)"
    R"("url":"https://test.com","has_contacts":true},"message":{"type":"TEXT",)"
    R"("text":"Can you help me?","timestamp":1665415879},"channel":{"id":"12345678",)"
    R"("type":"widget"},"event":"CLIENT_MESSAGE"})";

constexpr std::string_view kBotAgentUnavailable =
    R"({"id":"0b7e6f0a-48b1-11ed-a3d6-859398ff9bd9","site_id":"123456","client_id":"1233",)"
    R"("chat_id":"2037","event":"AGENT_UNAVAILABLE"})";

constexpr std::string_view kBotChatClosed =
    R"({"id":"1c2d3e4f-48b1-11ed-a3d6-859398ff9bd9","site_id":"123456","client_id":"1233",)"
    R"("chat_id":"2037","event":"CHAT_CLOSED"})";

// --- Building the catalogue -------------------------------------------------------------------

std::string Expand(std::string_view text) {
    std::string out(text);
    for (const auto& [marker, piece] : kPieces) {
        for (auto at = out.find(marker); at != std::string::npos; at = out.find(marker, at)) {
            out.replace(at, marker.size(), piece);
            at += piece.size();
        }
    }
    return out;
}

/// The event_name (or Bot API `event`) of a JSON body, "" when there is none.
std::string NameOf(std::string_view body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        return {};
    }
    for (const std::string_view key : {"event_name", "event"}) {
        if (const auto* name = v.get_object().if_contains(key); name && name->is_string()) {
            return std::string(name->get_string());
        }
    }
    return {};
}

bool IsJson(std::string_view body) {
    boost::system::error_code ec;
    (void)json::parse(body, ec);
    return !ec;
}

std::vector<JivoEvent> BuildCatalogue() {
    std::vector<JivoEvent> out;
    const auto add =
        [&out](std::string id, JivoKind kind, std::string body, std::string source) -> JivoEvent& {
        JivoEvent e;
        e.id = std::move(id);
        e.kind = kind;
        e.valid_json = IsJson(body);
        e.name = NameOf(body);
        e.body = std::move(body);
        e.source = std::move(source);
        return out.emplace_back(std::move(e));
    };
    const auto webhook = [&add](std::string_view id, std::string_view text, const char* source) {
        add(std::string(id), JivoKind::kWebhook, Expand(text), source);
    };
    webhook("call_event", kCallEvent, "JR-WH");
    webhook("call_event.en", kCallEventEn, "EN-WH");
    webhook("call_event.start", kCallEventStart, "inferred");
    webhook("call_event.error", kCallEventError, "inferred");
    webhook("chat_accepted", kChatAccepted, "JR-WH");
    webhook("chat_accepted.user_token", kChatAcceptedUserToken, "inferred");
    webhook("chat_updated", kChatUpdated, "JR-WH");
    webhook("client_updated", kClientUpdated, "JR-WH");
    add("client_attribute_updated.doc",
        JivoKind::kWebhook,
        std::string(kDocClientAttributeUpdated),
        "JR-WH")
        .name = "client_attribute_updated";
    webhook("client_attribute_updated", kClientAttributeUpdated, "inferred");
    webhook("chat_finished", kChatFinished, "JR-WH");
    webhook("chat_finished.rated", kChatFinishedRated, "inferred");
    webhook("offline_message", kOfflineMessage, "JR-WH");
    webhook("chat_assigned", kChatAssigned, "inferred");
    // The doc's id types disagree between examples and with its own tables; each documented
    // event also comes with every id in the other type, so both spellings reach a receiver.
    for (const std::string_view id :
         {"call_event",
          "chat_accepted",
          "chat_updated",
          "client_updated",
          "client_attribute_updated",
          "chat_finished",
          "offline_message"}) {
        const auto it =
            std::find_if(out.begin(), out.end(), [id](const JivoEvent& e) { return e.id == id; });
        auto flipped = FlipJivoIdTypes(it->body);
        add(std::string(id) + ".flipped", JivoKind::kWebhook, std::move(*flipped), "inferred");
    }
    webhook("unknown.event_name", kUnknownEventName, "inferred");
    webhook("unknown.no_event_name", kNoEventName, "inferred");

    for (const CrmEvent& crm : kCrmEvents) {
        json::object object;
        object["event_type"] = crm.event_type;
        object["event_name"] = crm.event_name;
        const json::value fields = json::parse(crm.fields);
        for (const auto& member : fields.as_object()) {
            object[member.key()] = member.value();
        }
        add("crm." + std::string(crm.id), JivoKind::kCrm, ToJsonText(object), "inferred");
    }
    for (const DocCrmExample& doc : kDocCrmExamples) {
        // Not JSON, so the name is the first one the text shows.
        add("crm." + std::string(doc.id) + ".doc", JivoKind::kCrm, std::string(doc.text), "JR-WH")
            .name = std::string(doc.name);
    }

    add("chat_api.text", JivoKind::kChatApi, std::string(kChatApiText), "inferred");
    add("chat_api.photo", JivoKind::kChatApi, std::string(kChatApiPhoto), "inferred");
    add("chat_api.document", JivoKind::kChatApi, std::string(kChatApiDocument), "inferred");
    add("bot.CLIENT_MESSAGE", JivoKind::kBot, std::string(kBotClientMessage), "EN-BOT");
    add("bot.AGENT_UNAVAILABLE", JivoKind::kBot, std::string(kBotAgentUnavailable), "inferred");
    add("bot.CHAT_CLOSED", JivoKind::kBot, std::string(kBotChatClosed), "inferred");
    return out;
}

// --- The generator ----------------------------------------------------------------------------

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
        const auto it = std::find_if(kCrmEvents.begin(), kCrmEvents.end(), [name](const auto& e) {
            return e.id == name;
        });
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

    JivoRng rng_;
    std::int64_t base_;
    std::uint64_t chats_ = 0;
    std::uint64_t visitors_ = 0;
    std::uint64_t crm_ = 0;
    std::uint64_t offline_ = 0;
};

/// Id-like members whose JSON type the doc's examples disagree on.
bool IsIdKey(std::string_view key) {
    static constexpr std::array<std::string_view, 9> kKeys{
        "id",
        "chat_id",
        "client_id",
        "agent_id",
        "number",
        "widget_id",
        "topic_id",
        "parent_id",
        "offline_message_id"};
    return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

void Flip(json::value& v) {
    if (v.is_array()) {
        for (auto& item : v.get_array()) {
            Flip(item);
        }
        return;
    }
    if (!v.is_object()) {
        return;
    }
    for (auto& member : v.get_object()) {
        json::value& value = member.value();
        if (!IsIdKey(member.key())) {
            Flip(value);
            continue;
        }
        if (value.is_int64()) {
            value = std::to_string(value.get_int64());
        } else if (value.is_string()) {
            const std::string_view s = value.get_string();
            std::int64_t n = 0;
            const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
            if (!s.empty() && s.size() < 19 && ec == std::errc{} && ptr == s.data() + s.size() &&
                s.front() != '-') {
                value = n;
            }
        } else {
            Flip(value);
        }
    }
}

}  // namespace

std::string_view JivoKindName(JivoKind kind) {
    switch (kind) {
        case JivoKind::kWebhook:
            return "webhook";
        case JivoKind::kCrm:
            return "crm";
        case JivoKind::kChatApi:
            return "chat_api";
        case JivoKind::kBot:
            return "bot";
    }
    return "webhook";
}

std::optional<JivoKind> ParseJivoKind(std::string_view name) {
    for (const JivoKind kind :
         {JivoKind::kWebhook, JivoKind::kCrm, JivoKind::kChatApi, JivoKind::kBot}) {
        if (JivoKindName(kind) == name) {
            return kind;
        }
    }
    return std::nullopt;
}

const std::vector<JivoEvent>& JivoCatalogue() {
    static const std::vector<JivoEvent> kCatalogue = BuildCatalogue();
    return kCatalogue;
}

const JivoEvent* FindJivoCatalogueEvent(std::string_view id) {
    for (const JivoEvent& e : JivoCatalogue()) {
        if (e.id == id) {
            return &e;
        }
    }
    return nullptr;
}

std::vector<std::string> JivoCatalogueGroup(std::string_view group) {
    std::vector<std::string> ids;
    for (const JivoEvent& e : JivoCatalogue()) {
        bool in = false;
        if (group == "catalogue") {
            in = true;
        } else if (group == "webhooks") {
            in = e.kind == JivoKind::kWebhook;
        } else if (group == "crm" || group == "chat_api" || group == "bot") {
            in = JivoKindName(e.kind) == group;
        } else if (group == "doc") {
            in = e.source != "inferred";
        } else if (group == "invalid") {
            in = !e.valid_json;
        }
        if (in) {
            ids.push_back(e.id);
        }
    }
    return ids;
}

std::vector<JivoEvent> GenerateJivoEvents(std::int64_t count, std::uint64_t seed) {
    std::vector<JivoEvent> out;
    if (count <= 0) {
        return out;
    }
    out.reserve(static_cast<std::size_t>(count));
    Generator generator(seed);
    // A second stream decides the interleaving, so that the stories do not depend on it.
    JivoRng interleave(seed ^ 0x6A09E667F3BCC909ULL);
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

std::optional<std::string> FlipJivoIdTypes(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        return std::nullopt;
    }
    Flip(v);
    return ToJsonText(v);
}

}  // namespace chatsync::emulator
