#include "status-json.h"
#include "ntp-time.h"
#include "table.h"
#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <kj/vector.h>

namespace horloge::ctl {

namespace {

struct Encoder {
  int64_t pivotNs;   // for the era of NTP timestamps: the status's own time
  kj::Vector<char> out;

  void raw(kj::StringPtr s) { out.addAll(s); }

  // The shortest decimal that reads back as the same value (a Float32 field as a float).
  void number(double v, bool single = false) {
    if (!std::isfinite(v)) return raw("null");
    char buf[40];
    for (int digits = single ? 6 : 15; digits <= 17; ++digits) {
      snprintf(buf, sizeof(buf), "%.*g", digits, v);
      double back = strtod(buf, nullptr);
      if (single ? float(back) == float(v) : back == v) break;
    }
    raw(buf);
  }

  // NTP wire fields of ServerState and NetdStats, as what they mean.
  bool special(capnp::StructSchema parent, capnp::StructSchema::Field field,
               capnp::DynamicValue::Reader v) {
    auto structName = parent.getShortDisplayName();
    auto name = field.getProto().getName();
    if ((structName == "ServerState" && (name == "rootDelay" || name == "rootDispersion")) ||
        (structName == "NetdStats" && name == "servedRootDispersion")) {
      number(ntp::secondsFromShort(v.as<uint32_t>()));
      return true;
    }
    if (structName == "ServerState" && name == "referenceTime") {
      uint64_t t = v.as<uint64_t>();
      if (t == 0) raw("null");
      else number(double(ntp::toUnixNs(t, pivotNs)) * 1e-9);
      return true;
    }
    if (structName == "ServerState" && name == "refid") {
      char buf[12];
      snprintf(buf, sizeof(buf), "\"%08X\"", v.as<uint32_t>());
      raw(buf);
      return true;
    }
    return false;
  }

  void value(capnp::DynamicValue::Reader v, bool single = false) {
    switch (v.getType()) {
      case capnp::DynamicValue::VOID: raw("null"); break;
      case capnp::DynamicValue::BOOL: raw(v.as<bool>() ? "true" : "false"); break;
      case capnp::DynamicValue::INT: raw(kj::str(v.as<int64_t>())); break;
      case capnp::DynamicValue::UINT: raw(kj::str(v.as<uint64_t>())); break;
      case capnp::DynamicValue::FLOAT: number(v.as<double>(), single); break;
      case capnp::DynamicValue::TEXT: raw(jsonString(printable(v.as<capnp::Text>()))); break;
      case capnp::DynamicValue::ENUM: {
        KJ_IF_MAYBE(e, v.as<capnp::DynamicEnum>().getEnumerant()) {
          raw(jsonString(snakeCase(e->getProto().getName())));
        } else {
          raw(kj::str(v.as<capnp::DynamicEnum>().getRaw()));
        }
        break;
      }
      case capnp::DynamicValue::LIST: {
        raw("[");
        bool first = true;
        for (auto item: v.as<capnp::DynamicList>()) {
          if (!first) raw(",");
          first = false;
          value(item);
        }
        raw("]");
        break;
      }
      case capnp::DynamicValue::STRUCT: object(v.as<capnp::DynamicStruct>()); break;
      default: raw("null"); break;   // DATA, CAPABILITY, ANY_POINTER: none in the status
    }
  }

  void object(capnp::DynamicStruct::Reader s) {
    auto schema = s.getSchema();
    raw("{");
    bool first = true;
    for (auto field: schema.getNonUnionFields()) {
      if (!first) raw(",");
      first = false;
      raw(jsonString(snakeCase(field.getProto().getName())));
      raw(":");
      auto v = s.get(field);
      if (!special(schema, field, v)) {
        value(v, field.getType().which() == capnp::schema::Type::FLOAT32);
      }
    }
    raw("}");
  }
};

}  // namespace

kj::String snakeCase(kj::StringPtr name) {
  kj::Vector<char> out;
  for (char c: name) {
    if (c >= 'A' && c <= 'Z') {
      if (out.size() > 0) out.add('_');
      out.add(char(c - 'A' + 'a'));
    } else {
      out.add(c);
    }
  }
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

kj::String statusJson(ipc::SystemStatus::Reader status) {
  Encoder e{status.getGeneratedNs(), {}};
  e.object(capnp::toDynamic(status));
  e.raw("\n");
  e.out.add('\0');
  return kj::String(e.out.releaseAsArray());
}

}  // namespace horloge::ctl
