//! What the board shows with its LEDs, written against the embedded-hal 1.0 traits only
//! (`OutputPin`, `DelayNs`), so any board's pins and timers fit.

use embedded_hal::{delay::DelayNs, digital::OutputPin};

/// How long an LED stays on, then off, for one blink.
const BLINK_MS: u32 = 120;
/// The pause after a blinked number, so consecutive numbers can be told apart.
const GAP_MS: u32 = 600;

/// An LED on a GPIO pin; `active_low` when the pin sinks the LED's current (the nRF52840
/// DK's LEDs light when their pin is low).
pub struct Led<P> {
    pin: P,
    active_low: bool,
}

impl<P: OutputPin> Led<P> {
    /// Wraps `pin`; the caller configures it as an output with the LED off.
    pub fn new(pin: P, active_low: bool) -> Self {
        Self { pin, active_low }
    }

    /// Lights the LED.
    pub fn on(&mut self) -> Result<(), P::Error> {
        if self.active_low {
            self.pin.set_low()
        } else {
            self.pin.set_high()
        }
    }

    /// Darkens the LED.
    pub fn off(&mut self) -> Result<(), P::Error> {
        if self.active_low {
            self.pin.set_high()
        } else {
            self.pin.set_low()
        }
    }

    /// Shows a predicted class: `class + 1` blinks (class 0 is one blink), then a pause.
    pub fn show_class(&mut self, delay: &mut impl DelayNs, class: u16) -> Result<(), P::Error> {
        for _ in 0..=u32::from(class) {
            self.on()?;
            delay.delay_ms(BLINK_MS);
            self.off()?;
            delay.delay_ms(BLINK_MS);
        }
        delay.delay_ms(GAP_MS);
        Ok(())
    }
}
