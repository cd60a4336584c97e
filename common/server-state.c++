#include "server-state.h"

namespace horloge {

void writeServerHeader(ipc::ServerState::Builder out, const ServerHeader& h) {
  out.setLeap(h.leap);
  out.setStratum(h.stratum);
  out.setPrecision(h.precision);
  out.setRefid(h.refid);
  out.setReferenceTime(h.referenceTime);
  out.setRootDelay(h.rootDelay);
  out.setRootDispersion(h.rootDispersion);
}

void writeServerState(ipc::ServerState::Builder out, const ServerState& s) {
  writeServerHeader(out, s.header);
  out.setModelOffsetNs(s.model.offsetNs);
  out.setModelFrequency(s.model.frequency);
  out.setModelAtNs(s.model.atNs);
  out.setModelLeapAtNs(s.model.leapAtNs);
  out.setModelLeapNs(s.model.leapNs);
  out.setStarting(s.starting);
  out.setSlewEndNs(s.slew.endNs);
  out.setSlewRate(s.slew.rate);
}

ServerState readServerState(ipc::ServerState::Reader in) {
  ServerState s;
  s.header = {in.getLeap(),    in.getStratum(),  in.getPrecision(),     in.getRefid(),
              in.getReferenceTime(), in.getRootDelay(), in.getRootDispersion()};
  s.model = {in.getModelOffsetNs(), in.getModelFrequency(), in.getModelAtNs(),
             in.getModelLeapAtNs(), in.getModelLeapNs()};
  s.starting = in.getStarting();
  s.slew = {in.getSlewEndNs(), in.getSlewRate()};
  return s;
}

}  // namespace horloge
