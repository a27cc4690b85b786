module tollgate.example/gomiddleware

go 1.19
