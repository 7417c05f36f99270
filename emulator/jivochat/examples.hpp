#pragma once

#include <optional>
#include <string_view>

/// @file
/// The JivoChat docs' examples as the mode's files read them (catalogue.cpp). Private to
/// emulator/jivochat/.

namespace chatsync::emulator::jivochat {

/// The example in examples/<file>, without the newline that ends the file. Throws
/// std::logic_error for a file that is not there: the names are literals of the mode's code.
std::string_view Example(std::string_view file);

/// A CRM Webhooks event of the catalogue as one object.
struct CrmExample {
    std::string_view event_type;  ///< Category.
    std::string_view fields;      ///< The rest of the object: a JSON object's text.
};

/// The CRM event with this catalogue id (after "crm."), or nullopt when there is none.
std::optional<CrmExample> FindCrmExample(std::string_view id);

}  // namespace chatsync::emulator::jivochat
