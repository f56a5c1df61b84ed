// What the import routes of every register share: the upload's content type, the dry_run and
// format parameters, the report as JSON and the answer a run gets (see import_api.cpp for the
// decisions), and the template download.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "http/request.h"
#include "platform/tabular/import.h"

namespace custos::api {

// 415 (header.content-type) unless text/csv, XLSX or application/octet-stream.
void check_upload_type(const http::Request& req);
// dry_run: true unless "false"/"0"; anything else is 422 on query.dry_run.
bool dry_run_param(const http::Request& req);
// format: xlsx (default) or csv; anything else is 422 on query.format.
tabular::Format format_param(const http::Request& req);

boost::json::object report_json(const tabular::ImportReport& r);
// 200 with the report for a dry run or a clean real run; else 422 validation_failed on "body"
// with the report in "report". `report` is report_json(r), perhaps with more members.
http::Response import_answer(const http::Request& req, const tabular::ImportReport& r,
                             boost::json::object report);
// The template as an attachment named `name` (UTF-8) / `ascii_name`, with the extension added.
http::Response template_answer(tabular::Format format, std::string bytes,
                               const std::string& ascii_name, const std::string& name);

// The JSON schema of the report (components/schemas/ImportReport).
const char* import_report_schema();

}  // namespace custos::api
