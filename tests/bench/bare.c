/*
 * bare.c - the benchmark's ceiling: a bare libfcgi responder that prints a
 * fixed JSON body, spawned with spawn-fcgi like the real programs.
 */
#include <fcgiapp.h>

int main(void)
{
	static const char reply[] = "Status: 200 OK\r\n"
				    "Content-Type: application/json; charset=utf-8\r\n"
				    "Content-Length: 17\r\n\r\n"
				    "{\"status\": \"ok\"}\n";
	FCGX_Request req;

	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(reply, sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
