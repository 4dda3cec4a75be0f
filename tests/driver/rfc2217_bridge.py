"""A minimal RFC 2217 server (test only): one TCP client bridged to a serial port, as a
serial-over-network bridge in the field would do, built on pyserial's own
:class:`serial.rfc2217.PortManager` (the server side of the protocol)."""

from __future__ import annotations

import socket
import threading

import serial
import serial.rfc2217


class Bridge:
    """Serve ``rfc2217://127.0.0.1:PORT`` for the serial port at ``device`` (one client)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"rfc2217://127.0.0.1:{self.port}"
        self.alive = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ser = _PtySerial(self.device, timeout=0.05)
        manager = serial.rfc2217.PortManager(ser, _SocketWriter(conn))
        to_net = threading.Thread(target=self._serial_to_net, args=(ser, conn, manager),
                                  daemon=True)
        to_net.start()
        try:
            while self.alive:
                data = conn.recv(4096)
                if not data:
                    break
                ser.write(b"".join(manager.filter(data)))
        except OSError:
            pass
        finally:
            self.alive = False
            to_net.join(timeout=2)
            ser.close()
            conn.close()

    def _serial_to_net(self, ser: serial.Serial, conn: socket.socket,
                       manager: serial.rfc2217.PortManager) -> None:
        try:
            while self.alive:
                data = ser.read(ser.in_waiting or 1)
                if data:
                    conn.sendall(b"".join(manager.escape(data)))
        except OSError:
            self.alive = False

    def close(self) -> None:
        self.alive = False
        self.listener.close()
        self.thread.join(timeout=3)


class _PtySerial(serial.Serial):
    """The simulator's pty has no modem lines (its ioctls fail): report the lines a
    connected USB-serial adapter would, and let line-control requests be no-ops."""

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass


class _SocketWriter:
    """What PortManager writes its option negotiation to."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> None:
        self.conn.sendall(data)
